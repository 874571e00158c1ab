import { describe, expect, it } from 'vitest';
import { canonicalHash } from '../../domain/hashing.ts';
import {
  defaultPolicy,
  evaluatePolicy,
  hostMatches,
  type Policy,
  type PolicyInput,
  policyHash,
  withPolicyHash,
} from '../../domain/policy.ts';

const input = (overrides: Partial<PolicyInput> = {}): PolicyInput => ({
  runId: 'run-1',
  tenantId: 't1',
  agentId: 'a1',
  stepIndex: 0,
  attempt: 1,
  skill: 'llm_invoke',
  sideEffecting: false,
  estimateMicros: 100,
  approvalGranted: false,
  ...overrides,
});

const policy = (rules: Policy['rules']): Policy => ({ version: 'p1', rules });

describe('evaluatePolicy', () => {
  it('allows by default and records the allow, OPA-decision-log shaped', () => {
    const decision = evaluatePolicy(withPolicyHash(policy({})), input());
    expect(decision).toEqual({
      decisionId: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      policyVersion: 'p1',
      policyHash: policyHash(policy({})),
      ruleId: 'default.allow',
      inputDigest: canonicalHash(input()),
      result: 'allow',
      reason: 'no rule denies the call',
    });
  });

  it('derives the decision id from run, step and attempt: same in, same id; no randomness', () => {
    const a = evaluatePolicy(policy({}), input());
    expect(evaluatePolicy(policy({}), input()).decisionId).toBe(a.decisionId);
    expect(evaluatePolicy(policy({}), input({ attempt: 2 })).decisionId).not.toBe(a.decisionId);
  });

  it('denies http_call to local addresses and names under every policy, unless the installation exempts the host', () => {
    const http = (url: string) => input({ skill: 'http_call', httpHost: new URL(url).hostname });
    for (const url of [
      'http://127.0.0.1:8080/',
      'http://10.1.2.3/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/',
      'http://[::ffff:192.168.0.1]/',
      'http://[fe80::1]/',
      'http://0x7f000001/',
      'http://localhost/',
      'http://api.localhost/',
      'http://metadata.google.internal/',
    ]) {
      expect(evaluatePolicy(policy({}), http(url)), url).toMatchObject({
        result: 'deny',
        ruleId: 'http.local_address',
        reason: expect.stringContaining('LOCAL_URL_FORBIDDEN'),
      });
    }
    expect(evaluatePolicy(policy({}), http('https://example.com/')).result).toBe('allow');
    expect(evaluatePolicy(policy({}), http('http://[::ffff:8.8.8.8]/')).result).toBe('allow');
    const exempt = policy({ httpLocalAllowHosts: ['127.0.0.1', '[::1]'] });
    expect(evaluatePolicy(exempt, http('http://127.0.0.1:9/')).result).toBe('allow');
    expect(evaluatePolicy(exempt, http('http://[0:0:0:0:0:0:0:1]/')).result).toBe('allow');
    // An exempt address does not open a name (nor another address) that means the same.
    expect(evaluatePolicy(exempt, http('http://localhost/')).ruleId).toBe('http.local_address');
    expect(evaluatePolicy(exempt, http('http://127.0.0.2/')).ruleId).toBe('http.local_address');
    // A tenant's own host rule names itself first.
    expect(evaluatePolicy(defaultPolicy, http('http://169.254.169.254/')).ruleId).toBe('http.hosts.deny');
    // Other skills are not http calls.
    expect(evaluatePolicy(policy({}), input({ httpHost: '127.0.0.1' })).result).toBe('allow');
  });

  it('denies skills on the deny list or off the allow list', () => {
    expect(evaluatePolicy(policy({ denySkills: ['llm_invoke'] }), input())).toMatchObject({
      result: 'deny',
      ruleId: 'skills.deny',
    });
    expect(evaluatePolicy(policy({ allowSkills: ['http_call'] }), input())).toMatchObject({
      result: 'deny',
      ruleId: 'skills.allow',
    });
    expect(evaluatePolicy(policy({ allowSkills: ['llm_invoke'] }), input()).result).toBe('allow');
  });

  it('denies a call whose estimate is above the per-call ceiling', () => {
    expect(evaluatePolicy(policy({ maxCostMicrosPerCall: 99 }), input())).toMatchObject({
      result: 'deny',
      ruleId: 'cost.max_per_call',
    });
    expect(evaluatePolicy(policy({ maxCostMicrosPerCall: 100 }), input()).result).toBe('allow');
  });

  it('checks http_call hosts: exact, *.suffix, deny before allow', () => {
    const http = (host: string | undefined) =>
      input({ skill: 'http_call', ...(host ? { httpHost: host } : {}) });
    const rules = {
      httpAllowHosts: ['api.example.com', '*.trusted.org'],
      httpDenyHosts: ['evil.trusted.org'],
    };
    expect(evaluatePolicy(policy(rules), http('api.example.com')).result).toBe('allow');
    expect(evaluatePolicy(policy(rules), http('a.b.trusted.org')).result).toBe('allow');
    expect(evaluatePolicy(policy(rules), http('trusted.org'))).toMatchObject({ ruleId: 'http.hosts.allow' });
    expect(evaluatePolicy(policy(rules), http('evil.trusted.org'))).toMatchObject({
      ruleId: 'http.hosts.deny',
    });
    expect(evaluatePolicy(policy(rules), http(undefined))).toMatchObject({ ruleId: 'http.url.invalid' });
    expect(evaluatePolicy(defaultPolicy, http('169.254.169.254'))).toMatchObject({ result: 'deny' });
  });

  it('asks for approval for side-effecting or listed skills, once per step', () => {
    const rules = { requireApprovalForSideEffecting: true, requireApprovalSkills: ['llm_invoke'] };
    expect(evaluatePolicy(policy(rules), input()).result).toBe('require_approval');
    expect(evaluatePolicy(policy(rules), input({ skill: 'http_call', sideEffecting: true })).result).toBe(
      'require_approval',
    );
    expect(evaluatePolicy(policy(rules), input({ skill: 'json_transform' })).result).toBe('allow');
    expect(evaluatePolicy(policy(rules), input({ approvalGranted: true }))).toMatchObject({
      result: 'allow',
      ruleId: 'approval.granted',
    });
  });

  it('lets a deny win over an approval requirement', () => {
    const rules = { requireApprovalSkills: ['llm_invoke'], denySkills: ['llm_invoke'] };
    expect(evaluatePolicy(policy(rules), input()).result).toBe('deny');
  });
});

describe('policy hash and helpers', () => {
  it('hashes the rules canonically', () => {
    expect(policyHash({ rules: { denySkills: ['a'], maxCostMicrosPerCall: 5 } })).toBe(
      policyHash({ rules: { maxCostMicrosPerCall: 5, denySkills: ['a'] } }),
    );
  });

  it('matches hosts', () => {
    expect(hostMatches('x.example.com', '*.example.com')).toBe(true);
    expect(hostMatches('example.com', '*.example.com')).toBe(false);
    expect(hostMatches('badexample.com', '*.example.com')).toBe(false);
    expect(hostMatches('example.com', 'EXAMPLE.com')).toBe(true);
  });
});
