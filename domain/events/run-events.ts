// The run stream (`run-<runId>`). Every event names its run; step events name the step,
// attempt events the 1-based attempt; every event whose content depends on a clock reading
// records that reading as `at`, so certification can feed it back as `now`.
import { z } from 'zod';
import { actorRoles, actorSchema } from '../actor.ts';
import { planEstimateSchema } from '../estimate.ts';
import { catalogEntrySchema, recoverySchema } from '../failure-catalog-schema.ts';
import { microsSchema } from '../money.ts';
import { onFailureValues, stepIdSchema } from '../plan/schema.ts';
import { policyHash, policyInputSchema, policyResults } from '../policy.ts';
import { policyRulesSchema } from '../policy-rules.ts';
import { priceModelsSchema } from '../price-table.ts';
import { priceTableHash } from '../pricing.ts';
import { retryPolicySchema } from '../retry-policy.ts';
import { finalRunStatusSchema } from '../run/status.ts';
import {
  atSchema,
  attemptSchema,
  durationMsSchema,
  errorCategorySchema,
  errorCodeSchema,
  hashSchema,
  idSchema,
  runIdSchema,
  stepIndexSchema,
  tokenUsageSchema,
} from './fields.ts';
import { approvalClosedReasons, estimateBasisSchema, seedSchema } from './run-fields.ts';

export { approvalClosedReasons, estimateBasisSchema, seedSchema } from './run-fields.ts';

/** A step's compensation as recorded: its retry policy is the effective one. */
export const recordedCompensationSchema = z.strictObject({
  skill: z.string().min(1),
  skillVersion: z.string().min(1).optional(),
  input: z.record(z.string(), z.unknown()),
  retry: retryPolicySchema,
});

/**
 * A plan step as the run recorded it: its retry policy is the effective one (skill default +
 * step override). Steps of a v1 plan have no id, dependsOn, when or compensate; they are
 * upcast on read (domain/plan/graph.ts).
 */
export const recordedStepSchema = z.strictObject({
  id: stepIdSchema.optional(),
  skill: z.string().min(1),
  skillVersion: z.string().min(1).optional(),
  input: z.record(z.string(), z.unknown()),
  dependsOn: z.array(stepIdSchema).optional(),
  when: z.string().min(1).optional(),
  retry: retryPolicySchema,
  onFailure: z.enum(onFailureValues),
  compensate: recordedCompensationSchema.optional(),
  sideEffecting: z.boolean(),
});
export type RecordedStep = z.infer<typeof recordedStepSchema>;

export const recordedPlanSchema = z.strictObject({
  /** Absent: a v1 plan (a list of steps, each after the one before). */
  version: z.literal(2).optional(),
  steps: z.array(recordedStepSchema).min(1),
  output: z.unknown().optional(),
  maxParallel: z.int().positive().optional(),
});
export type RecordedPlan = z.infer<typeof recordedPlanSchema>;

/** Marks the attempt events of a compensation (undoing a completed step) apart from the step's own. */
const compensationFlag = z.literal(true).optional();

export const runBudgetSchema = z.strictObject({
  maxCostMicros: microsSchema,
  maxSteps: z.int().positive(),
  deadlineMs: z.int().positive(),
});
export type RunBudget = z.infer<typeof runBudgetSchema>;

export const runSubmitted = z
  .strictObject({
    runId: runIdSchema,
    tenantId: idSchema,
    agentId: idSchema,
    plan: recordedPlanSchema,
    /** The run's input, read by references as `input` (v2 plans). */
    input: z.record(z.string(), z.unknown()).optional(),
    budget: runBudgetSchema,
    seed: seedSchema,
    policy: z.strictObject({ version: z.string().min(1), hash: hashSchema, rules: policyRulesSchema }),
    priceTable: z.strictObject({ version: z.string().min(1), hash: hashSchema, models: priceModelsSchema }),
    /** A planned goal's run: what its planner's call was charged (PlanProposed.charge), already spent. */
    planningMicros: microsSchema.optional(),
    /** The estimate of record when the drift breaker had taken v2 out of service (absent: v2). */
    estimateBasis: estimateBasisSchema.optional(),
    deadlineAt: atSchema,
    /** A child run: the run and step that started it, and its depth in the tree (root: 0). */
    parent: z
      .strictObject({ runId: runIdSchema, stepIndex: stepIndexSchema, depth: z.int().positive() })
      .optional(),
    at: atSchema,
  })
  .superRefine((data, ctx) => {
    if (policyHash(data.policy) !== data.policy.hash) {
      ctx.addIssue({ code: 'custom', path: ['policy', 'hash'], message: 'does not match the rules' });
    }
    if (priceTableHash(data.priceTable) !== data.priceTable.hash) {
      ctx.addIssue({ code: 'custom', path: ['priceTable', 'hash'], message: 'does not match the models' });
    }
  });

export const runEstimated = z.strictObject({
  runId: runIdSchema,
  v1: planEstimateSchema,
  v2: planEstimateSchema,
  /** The estimate of record (the one budgets are checked against): v2 unless the drift breaker took it out. */
  basis: z.enum(['v1', 'v2']),
  /** Why the basis is not v2 (or that both estimators are out of service). */
  basisNote: z.string().optional(),
  /** Accepted although its estimate is infeasible, because the policy says to flag, not refuse. */
  flagged: z.boolean(),
});

export const policyDecided = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  decisionId: z.uuid(),
  policyVersion: z.string().min(1),
  policyHash: hashSchema,
  ruleId: z.string().min(1),
  input: policyInputSchema,
  inputDigest: hashSchema,
  result: z.enum(policyResults),
  reason: z.string(),
  at: atSchema,
});

export const approvalRequested = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  approvalId: z.uuid(),
  decisionId: z.uuid(),
  reason: z.string(),
  expiresAt: atSchema,
  /** When it is escalated if still undecided (the policy's escalateAfterMs), before it expires. */
  escalatesAt: atSchema.optional(),
  /** Who may decide it until then (the policy's approverRoles; absent: operators and admins). */
  approverRoles: z.array(z.enum(actorRoles)).optional(),
  at: atSchema,
});

/** An approval undecided past its escalatesAt: the wider set of approvers may now decide it. */
export const approvalEscalated = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  approvalId: z.uuid(),
  approverRoles: z.array(z.enum(actorRoles)),
  at: atSchema,
});

/** A principal's answer to an approval request: granted and rejected carry the same fields. */
const approvalDecided = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  approvalId: z.uuid(),
  actor: actorSchema,
  comment: z.string().max(2000).optional(),
  at: atSchema,
});

export const approvalGranted = approvalDecided;
export const approvalRejected = approvalDecided;

export const approvalExpired = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  approvalId: z.uuid(),
  expiresAt: atSchema,
  at: atSchema,
});

/** The run is ending while the approval is pending (just before its RunCompleted): nobody can decide it any more. */
export const approvalClosed = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  approvalId: z.uuid(),
  reason: z.enum(approvalClosedReasons),
  /** The run's final status. */
  runStatus: finalRunStatusSchema,
  at: atSchema,
});

export const skillCallStarted = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  skill: z.string().min(1),
  skillVersion: z.string().min(1).optional(),
  reservationId: idSchema,
  reservedMicros: microsSchema,
  estimateMicros: microsSchema,
  compensation: compensationFlag,
  /** v2 plans: the input after references were resolved, in full when small enough… */
  input: z.record(z.string(), z.unknown()).optional(),
  /** …and always its hash; a large input is recorded as its hash and a truncated copy. */
  inputHash: hashSchema.optional(),
  inputTruncated: z.string().optional(),
  /** v2 plans: the step's seed, derived from the run's seed and the step's id. */
  seed: z.int().nonnegative().optional(),
  at: atSchema,
});

export const skillCallSucceeded = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  compensation: compensationFlag,
  output: z.unknown().optional(),
  latencyMs: durationMsSchema,
  at: atSchema,
});

export const skillCallFailed = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  compensation: compensationFlag,
  errorCode: errorCodeSchema,
  category: errorCategorySchema,
  retryable: z.boolean(),
  message: z.string(),
  retryAfterMs: durationMsSchema.optional(),
  /** The HTTP status the failure came with, when it came from an HTTP answer. */
  httpStatus: z.int().min(100).max(599).optional(),
  latencyMs: durationMsSchema,
  at: atSchema,
});

/**
 * What the failure catalog in force said of a failed attempt (recorded in the same append as
 * its SkillCallFailed): the entry that matched (null: none did, the error taxonomy decided),
 * and the category, retry and recovery it gives.
 */
export const failureClassified = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  compensation: compensationFlag,
  errorCode: errorCodeSchema,
  catalogVersion: z.string().min(1),
  catalogHash: hashSchema,
  entry: catalogEntrySchema.nullable(),
  category: errorCategorySchema,
  retry: z.boolean(),
  recovery: recoverySchema,
  confidence: z.number().min(0).max(1),
  automatic: z.boolean(),
  at: atSchema,
});

/** A classified failure's recovery, offered on the run: the step waits for it unless it is automatic. */
export const recoverySuggested = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  recoveryId: z.uuid(),
  errorCode: errorCodeSchema,
  recovery: recoverySchema,
  confidence: z.number().min(0).max(1),
  automatic: z.boolean(),
  /** What the next attempt would change: the model, maxTokens or skill it is called with. */
  change: z.record(z.string(), z.unknown()),
  at: atSchema,
});

/** An operator accepted or rejected a suggested recovery. */
export const recoveryDecided = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  recoveryId: z.uuid(),
  decision: z.enum(['accepted', 'rejected']),
  actor: actorSchema,
  comment: z.string().max(2000).optional(),
  at: atSchema,
});

/** A recovery taken: the step's next attempt is made with `change` (an accepted or automatic one). */
export const recoveryApplied = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  recoveryId: z.uuid(),
  by: z.enum(['operator', 'automatic']),
  recovery: recoverySchema,
  change: z.record(z.string(), z.unknown()),
  nextAttempt: attemptSchema,
  at: atSchema,
});

export const costCharged = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  compensation: compensationFlag,
  reservationId: idSchema,
  usage: tokenUsageSchema.optional(),
  /** The pre-call estimate (v2) of this attempt. */
  estimateMicros: microsSchema,
  /** usage × the run's price table, rounded up once. */
  computedMicros: microsSchema,
  providerMicros: microsSchema.optional(),
  /** What counts against budgets: the larger of computed and provider-reported. */
  chargedMicros: microsSchema,
  priceTableVersion: z.string().min(1),
  priceTableHash: hashSchema,
  at: atSchema,
});

export const retryScheduled = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  /** The attempt that failed. */
  attempt: attemptSchema,
  compensation: compensationFlag,
  nextAttempt: attemptSchema,
  errorCode: errorCodeSchema,
  delayMs: durationMsSchema,
  dueAt: atSchema,
  at: atSchema,
});

export const budgetScopes = ['run', 'tenant_day', 'model_cap'] as const;

export const budgetExceeded = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  /** run: the run's maxCostMicros; tenant_day / model_cap: the tenant's day ledger refused a reservation. */
  scope: z.enum(budgetScopes),
  reservationId: idSchema.optional(),
  requestedMicros: microsSchema,
  remainingMicros: microsSchema,
  at: atSchema,
});

export const stepCompleted = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  outcome: z.enum(['succeeded', 'failed']),
  attempts: z.int().nonnegative(),
  output: z.unknown().optional(),
  errorCode: errorCodeSchema.optional(),
  reason: z.string().optional(),
  at: atSchema,
});

/** A step whose `when` was falsy, or whose dependencies were all skipped: it never runs. */
export const stepSkipped = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  stepId: stepIdSchema,
  reason: z.string(),
  at: atSchema,
});

/** A step with onFailure=compensate failed: these completed steps are undone, in this order. */
export const compensationRequested = z.strictObject({
  runId: runIdSchema,
  /** The step whose failure ends the run. */
  stepIndex: stepIndexSchema,
  errorCode: errorCodeSchema,
  reason: z.string(),
  /** Steps to compensate, in reverse order of completion. */
  steps: z.array(stepIndexSchema),
  at: atSchema,
});

export const stepCompensated = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  outcome: z.enum(['succeeded', 'failed']),
  attempts: z.int().nonnegative(),
  errorCode: errorCodeSchema.optional(),
  reason: z.string().optional(),
  at: atSchema,
});

export const runCancelRequested = z.strictObject({
  runId: runIdSchema,
  actor: actorSchema,
  reason: z.string().max(2000),
  at: atSchema,
});

/** An emergency stop holds the run's tenant: no attempt of it starts until the stop is lifted. */
export const runPaused = z.strictObject({
  runId: runIdSchema,
  /** The stop's scope: the run's tenant, or null for the stop of every tenant. */
  stopTenantId: z.string().min(1).nullable(),
  /** When that stop was recorded (its EmergencyStopped). */
  stoppedAt: atSchema,
  at: atSchema,
});

/** The stop was lifted: the run's attempts start again. */
export const runResumed = z.strictObject({
  runId: runIdSchema,
  at: atSchema,
});

export const runCompleted = z.strictObject({
  runId: runIdSchema,
  status: finalRunStatusSchema,
  reason: z.string(),
  errorCode: errorCodeSchema.optional(),
  stepIndex: stepIndexSchema.optional(),
  chargedMicros: microsSchema,
  /** The plan's `output`, resolved, when the plan declares one and the run succeeded. */
  output: z.unknown().optional(),
  /** The compensations a failed run ran, in the order they ran. */
  compensations: z
    .array(z.strictObject({ stepIndex: stepIndexSchema, outcome: z.enum(['succeeded', 'failed']) }))
    .optional(),
  at: atSchema,
});

const childRunMode = z.enum(['invoke', 'spawn']);

/** An agent_invoke / agent_spawn step started its child run, carving `budgetMicros` out of this one. */
export const childRunStarted = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  childRunId: runIdSchema,
  mode: childRunMode,
  agentId: idSchema,
  budgetMicros: microsSchema,
  at: atSchema,
});

/** The child run could not be submitted (its plan, the policy, the limits): the step fails. */
export const childRunRefused = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  attempt: attemptSchema,
  childRunId: runIdSchema,
  errorCode: errorCodeSchema,
  reason: z.string(),
  at: atSchema,
});

/** The child ended: what it spent is charged here, what it did not returns to this run. */
export const childRunEnded = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  childRunId: runIdSchema,
  status: finalRunStatusSchema,
  reason: z.string(),
  chargedMicros: microsSchema,
  output: z.unknown().optional(),
  at: atSchema,
});

/** This run is ending (cancelled, failed, past its deadline): its live child was asked to cancel. */
export const childCancelRequested = z.strictObject({
  runId: runIdSchema,
  stepIndex: stepIndexSchema,
  childRunId: runIdSchema,
  at: atSchema,
});

export const runEventSchemas = {
  RunSubmitted: runSubmitted,
  RunEstimated: runEstimated,
  PolicyDecided: policyDecided,
  ApprovalRequested: approvalRequested,
  ApprovalGranted: approvalGranted,
  ApprovalRejected: approvalRejected,
  ApprovalExpired: approvalExpired,
  ApprovalEscalated: approvalEscalated,
  ApprovalClosed: approvalClosed,
  SkillCallStarted: skillCallStarted,
  SkillCallSucceeded: skillCallSucceeded,
  SkillCallFailed: skillCallFailed,
  FailureClassified: failureClassified,
  RecoverySuggested: recoverySuggested,
  RecoveryDecided: recoveryDecided,
  RecoveryApplied: recoveryApplied,
  CostCharged: costCharged,
  RetryScheduled: retryScheduled,
  BudgetExceeded: budgetExceeded,
  StepCompleted: stepCompleted,
  StepSkipped: stepSkipped,
  CompensationRequested: compensationRequested,
  StepCompensated: stepCompensated,
  RunCancelRequested: runCancelRequested,
  RunPaused: runPaused,
  RunResumed: runResumed,
  ChildRunStarted: childRunStarted,
  ChildRunRefused: childRunRefused,
  ChildRunEnded: childRunEnded,
  ChildCancelRequested: childCancelRequested,
  RunCompleted: runCompleted,
} as const;

type RunEventSchemas = typeof runEventSchemas;
export type RunEventType = keyof RunEventSchemas;
export type RunEventData<T extends RunEventType> = z.infer<RunEventSchemas[T]>;
export type RunEvent = { [T in RunEventType]: { type: T; data: RunEventData<T> } }[RunEventType];
