// A policy's rules and the default policy: the schemas, without the hashing of policies and
// decisions (domain/policy.ts), so that route contracts can use them.
import { z } from 'zod';
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
