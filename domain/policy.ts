// Policy: the rules checked before every skill call. A decision is recorded as a
// PolicyDecided event shaped like an OPA decision-log entry (decision id, policy version and
// hash, the rule that decided, a digest of the input, the result and a reason), allows
// included, so an auditor can see why every call was or was not made.
import { z } from 'zod';
import { canonicalHash, deterministicUuid } from './hashing.ts';
import { localHostReason, normaliseHost } from './local-address.ts';
import { microsSchema } from './money.ts';
import {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  type HashedPolicy,
  type Policy,
  type PolicyRules,
} from './policy-rules.ts';

export {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  defaultPolicy,
  type HashedPolicy,
  MAX_BREAKER_FAILURE_THRESHOLD,
  type Policy,
  type PolicyRules,
  policyRulesSchema,
  policySchema,
} from './policy-rules.ts';

/** sha256 of the RFC 8785 canonical JSON of the rules; the version label is not hashed. */
export function policyHash(policy: Pick<Policy, 'rules'>): string {
  return canonicalHash(policy.rules);
}

export function withPolicyHash(policy: Policy): HashedPolicy {
  return { version: policy.version, hash: policyHash(policy), rules: policy.rules };
}

export function approvalTimeoutMs(rules: PolicyRules): number {
  return rules.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
}

/** What a decision is about. Only these facts are digested and recorded, never the prompt. */
export const policyInputSchema = z.strictObject({
  runId: z.string(),
  tenantId: z.string(),
  agentId: z.string(),
  stepIndex: z.int().nonnegative(),
  attempt: z.int().positive(),
  skill: z.string(),
  skillVersion: z.string().optional(),
  sideEffecting: z.boolean(),
  estimateMicros: microsSchema,
  httpHost: z.string().optional(),
  /** An approval was already granted for this step, so retries do not ask again. */
  approvalGranted: z.boolean(),
});
export type PolicyInput = z.infer<typeof policyInputSchema>;

export const policyResults = ['allow', 'deny', 'require_approval'] as const;
export type PolicyResult = (typeof policyResults)[number];

export interface PolicyDecision {
  decisionId: string;
  policyVersion: string;
  policyHash: string;
  ruleId: string;
  inputDigest: string;
  result: PolicyResult;
  reason: string;
}

export function hostMatches(host: string, pattern: string): boolean {
  const wanted = pattern.toLowerCase();
  if (wanted.startsWith('*.')) return host.endsWith(wanted.slice(1));
  return host === wanted;
}

type Verdict = Pick<PolicyDecision, 'ruleId' | 'result' | 'reason'>;

function httpVerdict(rules: PolicyRules, input: PolicyInput): Verdict | undefined {
  if (input.skill !== 'http_call') return undefined;
  if (!rules.httpAllowHosts && !rules.httpDenyHosts) return undefined;
  const host = input.httpHost;
  if (host === undefined) {
    return { ruleId: 'http.url.invalid', result: 'deny', reason: 'http_call has no parsable url' };
  }
  const denied = rules.httpDenyHosts?.find((pattern) => hostMatches(host, pattern));
  if (denied) return { ruleId: 'http.hosts.deny', result: 'deny', reason: `host ${host} matches ${denied}` };
  if (rules.httpAllowHosts && !rules.httpAllowHosts.some((pattern) => hostMatches(host, pattern))) {
    return { ruleId: 'http.hosts.allow', result: 'deny', reason: `host ${host} is not in the allow list` };
  }
  return undefined;
}

/**
 * http_call to a local address, a metadata or a local name (domain/local-address.ts) is denied
 * under every policy, unless the installation exempts that host: what the skill's address guard
 * would refuse at call time, known before the call. A name that resolves to a local address is
 * the guard's alone to refuse (it takes DNS).
 */
function localAddressVerdict(rules: PolicyRules, input: PolicyInput): Verdict | undefined {
  const host = input.skill === 'http_call' ? input.httpHost : undefined;
  if (host === undefined) return undefined;
  const reason = localHostReason(host);
  if (reason === undefined) return undefined;
  const normal = normaliseHost(host);
  if (rules.httpLocalAllowHosts?.some((allowed) => normaliseHost(allowed) === normal)) return undefined;
  return {
    ruleId: 'http.local_address',
    result: 'deny',
    reason: `host ${host} is a ${reason}: LOCAL_URL_FORBIDDEN (AOS_HTTP_ALLOW_HOSTS exempts a host)`,
  };
}

/** Skill allow/deny lists alone: also checked at submission, where a denied skill refuses the plan. */
export function skillVerdict(rules: PolicyRules, skill: string): Verdict | undefined {
  if (rules.denySkills?.includes(skill)) {
    return { ruleId: 'skills.deny', result: 'deny', reason: `skill ${skill} is denied` };
  }
  if (rules.allowSkills && !rules.allowSkills.includes(skill)) {
    return { ruleId: 'skills.allow', result: 'deny', reason: `skill ${skill} is not in the allow list` };
  }
  return undefined;
}

/** Whether a call of `skill` waits for a human before it runs (retries of an approved step do not). */
export function needsApproval(rules: PolicyRules, skill: string, sideEffecting: boolean): boolean {
  return (
    rules.requireApprovalSkills?.includes(skill) === true ||
    (sideEffecting && rules.requireApprovalForSideEffecting === true)
  );
}

/** Rules in order; the first that denies or asks for approval decides. */
function verdict(rules: PolicyRules, input: PolicyInput): Verdict {
  const denial =
    skillVerdict(rules, input.skill) ??
    httpVerdict(rules, input) ??
    localAddressVerdict(rules, input) ??
    (rules.maxCostMicrosPerCall !== undefined && input.estimateMicros > rules.maxCostMicrosPerCall
      ? {
          ruleId: 'cost.max_per_call',
          result: 'deny' as const,
          reason: `estimate ${input.estimateMicros} micros is above the per-call ceiling ${rules.maxCostMicrosPerCall}`,
        }
      : undefined);
  if (denial) return denial;
  if (needsApproval(rules, input.skill, input.sideEffecting)) {
    if (input.approvalGranted) {
      return {
        ruleId: 'approval.granted',
        result: 'allow',
        reason: 'approval already granted for this step',
      };
    }
    return {
      ruleId: 'approval.required',
      result: 'require_approval',
      reason: `skill ${input.skill} needs approval`,
    };
  }
  return { ruleId: 'default.allow', result: 'allow', reason: 'no rule denies the call' };
}

/** The decision id of one attempt's decision: a deterministic UUID, never random. */
export function policyDecisionId(input: Pick<PolicyInput, 'runId' | 'stepIndex' | 'attempt'>): string {
  return deterministicUuid('policy-decision', input.runId, input.stepIndex, input.attempt);
}

export function evaluatePolicy(policy: HashedPolicy | Policy, input: PolicyInput): PolicyDecision {
  return {
    decisionId: policyDecisionId(input),
    policyVersion: policy.version,
    policyHash: 'hash' in policy ? policy.hash : policyHash(policy),
    inputDigest: canonicalHash(input),
    ...verdict(policy.rules, input),
  };
}
