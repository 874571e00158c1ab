// Policy: the rules checked before every skill call. A decision is recorded as a
// PolicyDecided event shaped like an OPA decision-log entry (decision id, policy version and
// hash, the rule that decided, a digest of the input, the result and a reason), allows
// included, so an auditor can see why every call was or was not made.
import { z } from 'zod';
import { canonicalHash, deterministicUuid } from './hashing.ts';
import { localHostReason, normaliseHost } from './local-address.ts';
import { microsSchema } from './money.ts';

/** Exact host ("api.example.com") or any subdomain of a suffix ("*.example.com", not the apex). */
const hostPatternSchema = z
  .string()
  .min(1)
  .regex(/^(\*\.)?[^*\s/]+$/, 'a host is "name" or "*.suffix"');

/** The most failures a circuit breaker may be set to wait for (its fold keeps no more than this). */
export const MAX_BREAKER_FAILURE_THRESHOLD = 1000;

export const policyRulesSchema = z.strictObject({
  /** When present, only these skills may be called. */
  allowSkills: z.array(z.string().min(1)).optional(),
  denySkills: z.array(z.string().min(1)).optional(),
  /** Ceiling on the v2 estimate of one call (a step, all its iterations). */
  maxCostMicrosPerCall: microsSchema.optional(),
  /** http_call: when present, only these hosts. */
  httpAllowHosts: z.array(hostPatternSchema).optional(),
  httpDenyHosts: z.array(hostPatternSchema).optional(),
  /**
   * The installation's exemptions from the local-address rule (AOS_HTTP_ALLOW_HOSTS: exact
   * hosts or IPs), put into the policy in force by policyInForce, never by a tenant.
   */
  httpLocalAllowHosts: z.array(z.string().min(1)).optional(),
  /** Calls of skills marked side-effecting wait for a human (admin/operator) approval. */
  requireApprovalForSideEffecting: z.boolean().optional(),
  requireApprovalSkills: z.array(z.string().min(1)).optional(),
  /**
   * How long an approval request stays open; 24 hours unless set. (`min(1)`, not `positive()`:
   * the same for an integer, documented as `minimum: 1` rather than OpenAPI 3.0's boolean
   * `exclusiveMinimum`, which JSON Schema validators of the answers read as an error.)
   */
  approvalTimeoutMs: z.int().min(1).optional(),
  /** Who decides an approval at first: operators and admins unless narrowed (e.g. to operators). */
  approverRoles: z
    .array(z.enum(['admin', 'operator']))
    .min(1)
    .optional(),
  /**
   * An approval still undecided this long after it was asked is escalated (ApprovalEscalated):
   * the tenant's admins may then decide it too. Unset: never escalated.
   */
  escalateAfterMs: z.int().min(1).optional(),
  /**
   * A plan whose (v2) estimate is infeasible — over its budget or above the risk limit — is
   * refused at submission (the default), or with `flag` accepted and flagged in RunEstimated.
   */
  infeasibleEstimate: z.enum(['refuse', 'flag']).optional(),
  /**
   * Circuit breakers per target (skill + host, skill + model): open after `failureThreshold`
   * retryable failures within `windowMs`, half-open after `cooldownMs` (5 / 60 s / 60 s unless set).
   */
  circuitBreaker: z
    .strictObject({
      failureThreshold: z.int().min(1).max(MAX_BREAKER_FAILURE_THRESHOLD).optional(),
      windowMs: z.int().min(1).optional(),
      cooldownMs: z.int().min(1).optional(),
    })
    .optional(),
});
export type PolicyRules = z.infer<typeof policyRulesSchema>;

export const policySchema = z.strictObject({ version: z.string().min(1), rules: policyRulesSchema });
export type Policy = z.infer<typeof policySchema>;

export interface HashedPolicy extends Policy {
  hash: string;
}

export const DEFAULT_APPROVAL_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/**
 * Conservative defaults: cloud metadata endpoints are never reachable, and side-effecting
 * calls (non-GET http_call) wait for an approval. A tenant publishes its own policy to relax this.
 */
export const defaultPolicy: Policy = {
  version: 'aos-default-1',
  rules: {
    httpDenyHosts: ['169.254.169.254', 'metadata.google.internal', 'metadata.azure.com'],
    requireApprovalForSideEffecting: true,
    approvalTimeoutMs: DEFAULT_APPROVAL_TIMEOUT_MS,
    infeasibleEstimate: 'refuse',
  },
};

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
