// Commands of the run decider. Each carries the observation it reports (a skill outcome, a
// budget refusal, an approval) and `now`, the clock reading of the caller: the decider reads
// nothing else, so the same commands always produce the same events.
import { z } from 'zod';
import type { actorSchema } from '../actor.ts';
import { errorCodeSchema, tokenUsageSchema } from '../events/fields.ts';
import { estimateBasisSchema, seedSchema } from '../events/run-fields.ts';
import type { HashedFailureCatalog } from '../failure-catalog.ts';
import { microsSchema } from '../money.ts';
import { planInputSchema, runInputSchema } from '../plan/schema.ts';
import { policySchema } from '../policy-rules.ts';
import { priceTableSchema } from '../price-table.ts';
import { retryPolicySchema } from '../retry-policy.ts';
import type { SkillOutcome } from '../skill.ts';
import { isoInstantSchema } from '../time.ts';
import type { FinalRunStatus } from './status.ts';

export const DEFAULT_MAX_STEPS = 50;
export const DEFAULT_DEADLINE_MS = 60 * 60 * 1000;

export { type PlanStepInput, planInputSchema, planStepInputSchema } from '../plan/schema.ts';

export const runBudgetInputSchema = z.strictObject({
  maxCostMicros: microsSchema,
  maxSteps: z.int().positive().default(DEFAULT_MAX_STEPS),
  deadlineMs: z.int().positive().default(DEFAULT_DEADLINE_MS),
});

/** What the skill registry knows about a skill; the domain's built-in facts fill the gaps. */
export const skillFactsSchema = z.strictObject({
  defaultRetry: retryPolicySchema.optional(),
  sideEffecting: z.boolean().optional(),
});

export const submitRunSchema = z.strictObject({
  type: z.literal('SubmitRun'),
  runId: z.string().min(1).max(256),
  tenantId: z.string().min(1).max(256),
  agentId: z.string().min(1).max(256),
  plan: planInputSchema,
  /** The run's input, read by the plan's references as `input`. */
  input: runInputSchema.optional(),
  budget: runBudgetInputSchema,
  seed: seedSchema,
  /** The tenant's policy in force; `hash`, when given, must match the rules. */
  policy: policySchema.extend({ hash: z.string().optional() }),
  /** The adopted price table; `hash`, when given, must match the models. */
  priceTable: priceTableSchema.extend({ hash: z.string().optional() }),
  skills: z.record(z.string(), skillFactsSchema).optional(),
  /** A child run: who started it and how deep in the tree it is. */
  parent: z
    .strictObject({ runId: z.string().min(1), stepIndex: z.int().nonnegative(), depth: z.int().positive() })
    .optional(),
  /** What planning the run's goal was charged (its PlanProposed); counts against the budget. */
  planningMicros: microsSchema.optional(),
  /** The drift breaker's basis when it is not v2 (commands/estimator-breaker.ts). */
  estimateBasis: estimateBasisSchema.optional(),
  now: isoInstantSchema,
});
export type SubmitRun = z.input<typeof submitRunSchema>;
export type ParsedSubmitRun = z.output<typeof submitRunSchema>;

/** Asked before every attempt: ends the run (cancel, deadline, budget) or decides policy. */
export interface EvaluateStep {
  type: 'EvaluateStep';
  /** The step to evaluate; absent: the first active step (the only one of a linear plan). */
  stepIndex?: number;
  now: string;
}

export interface DecideApproval {
  type: 'DecideApproval';
  approvalId: string;
  decision: 'approve' | 'reject';
  /** The authenticated principal, from the API key (never from the request body). */
  actor: z.infer<typeof actorSchema>;
  comment?: string;
  now: string;
}

/** The approval is still undecided at its escalatesAt: widen who may decide it. */
export interface EscalateApproval {
  type: 'EscalateApproval';
  stepIndex?: number;
  now: string;
}

export interface ExpireApproval {
  type: 'ExpireApproval';
  /** The step whose attempt this is; absent: the only one (a linear plan), or the compensation under way. */
  stepIndex?: number;
  now: string;
}

/** The tenant day ledger refused the reservation for the next attempt. */
export interface RecordBudgetRefused {
  type: 'RecordBudgetRefused';
  /** The step whose attempt this is; absent: the only one (a linear plan), or the compensation under way. */
  stepIndex?: number;
  reservationId: string;
  requestedMicros: number;
  remainingMicros: number;
  scope?: 'tenant_day' | 'model_cap';
  now: string;
}

export interface StartAttempt {
  type: 'StartAttempt';
  /** The step whose attempt this is; absent: the only one (a linear plan), or the compensation under way. */
  stepIndex?: number;
  reservationId: string;
  reservedMicros: number;
  estimateMicros: number;
  now: string;
}

export interface RecordOutcome {
  type: 'RecordOutcome';
  /** The step whose attempt this is; absent: the only one (a linear plan), or the compensation under way. */
  stepIndex?: number;
  outcome: SkillOutcome;
  latencyMs: number;
  /** The failure catalog in force, which classifies a failed outcome; absent: the error taxonomy alone. */
  failureCatalog?: HashedFailureCatalog;
  now: string;
}

/** The in-flight attempt's lease expired without an outcome: its worker is presumed dead. */
export interface RecordWorkerLost {
  type: 'RecordWorkerLost';
  /** The step whose attempt this is; absent: the only one (a linear plan), or the compensation under way. */
  stepIndex?: number;
  failureCatalog?: HashedFailureCatalog;
  now: string;
}

/** An operator's answer to a suggested recovery. */
export interface DecideRecovery {
  type: 'DecideRecovery';
  recoveryId: string;
  decision: 'accept' | 'reject';
  /** The authenticated principal, from the API key. */
  actor: z.infer<typeof actorSchema>;
  comment?: string;
  now: string;
}

export interface RequestCancel {
  type: 'RequestCancel';
  actor: z.infer<typeof actorSchema>;
  reason: string;
  now: string;
}

/** An agent_invoke / agent_spawn step's child run was submitted (and is due). */
export interface StartChild {
  type: 'StartChild';
  stepIndex: number;
  childRunId: string;
  budgetMicros: number;
  now: string;
}

/** The child run's submission was refused: the step fails with the refusal's code. */
export interface RecordChildRefused {
  type: 'RecordChildRefused';
  stepIndex: number;
  childRunId: string;
  errorCode: z.infer<typeof errorCodeSchema>;
  reason: string;
  now: string;
}

/** A child run ended, as its own stream recorded it. */
export interface RecordChildEnded {
  type: 'RecordChildEnded';
  childRunId: string;
  status: FinalRunStatus;
  reason: string;
  chargedMicros: number;
  output?: unknown;
  now: string;
}

/** The cancel this ending run asked of its live child was recorded on the child. */
export interface RequestChildCancel {
  type: 'RequestChildCancel';
  childRunId: string;
  now: string;
}

/** An emergency stop holds the run's tenant: the run waits, starting no attempt. */
export interface PauseRun {
  type: 'PauseRun';
  /** The stop: its scope (null: every tenant) and when it was recorded. */
  stop: { tenantId: string | null; at: string };
  now: string;
}

/** The stop holding the run was lifted: its attempts may start again. */
export interface ResumeRun {
  type: 'ResumeRun';
  now: string;
}

export type RunCommand =
  | SubmitRun
  | EvaluateStep
  | DecideApproval
  | ExpireApproval
  | EscalateApproval
  | RecordBudgetRefused
  | StartAttempt
  | RecordOutcome
  | RecordWorkerLost
  | DecideRecovery
  | RequestCancel
  | StartChild
  | RecordChildRefused
  | RecordChildEnded
  | RequestChildCancel
  | PauseRun
  | ResumeRun;

/** A skill's outcome as the executor reports it; checked because skills are outside the domain. */
export const skillOutcomeSchema = z.union([
  z.strictObject({
    ok: z.literal(true),
    output: z.unknown().optional(),
    usage: tokenUsageSchema.optional(),
    providerCostMicros: microsSchema.optional(),
  }),
  z.strictObject({
    ok: z.literal(false),
    errorCode: errorCodeSchema,
    message: z.string(),
    retryAfterMs: z.int().nonnegative().optional(),
    httpStatus: z.int().min(100).max(599).optional(),
    usage: tokenUsageSchema.optional(),
    providerCostMicros: microsSchema.optional(),
  }),
]);
