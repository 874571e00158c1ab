// Runs: submit, simulate, read, cancel, approve.
import { z } from 'zod';
import { planEstimateSchema } from '../domain/estimate.ts';
import { recoveryModes } from '../domain/failure-catalog-schema.ts';
import { runStatuses } from '../domain/run/run-statuses.ts';
import { submitRunRequestSchema } from '../domain/run/submit-request.ts';
import { idempotencyHeaders, limit } from './common.ts';
import { defineRoute } from './route.ts';

const runStatus = z.enum(runStatuses);

export const submissionIssueSchema = z.object({
  about: z.enum(['plan', 'skill', 'input']),
  code: z.string(),
  path: z.string().describe('where in the request, e.g. plan.steps[0].input.data'),
  message: z.string(),
});
const runId = z.uuid();
export const runParams = z.strictObject({ id: runId });

/** A command's answer: the run's status once the command was recorded. */
const statusAfterCommand = z.string().describe("the run's status once the command was recorded");
export const runReceipt = z.object({
  runId,
  status: statusAfterCommand,
  streamId: z.string(),
  position: z.string().describe('global position of the last event written'),
});

/** A JSON value in full up to a size, else its hash and a truncated copy. */
const shownValue = z.object({
  value: z.unknown().optional(),
  hash: z.string(),
  truncated: z.string().optional(),
});
const attemptView = z.object({
  attempt: z.int(),
  outcome: z.enum(['running', 'succeeded', 'failed']),
  errorCode: z.string().nullable(),
  latencyMs: z.number().nullable(),
  costMicros: z.int(),
  startedAt: z.string(),
  input: shownValue.optional().describe('v2 plans: the resolved input the attempt was called with'),
});
const stepView = z.object({
  index: z.int(),
  id: z.string(),
  dependsOn: z.array(z.string()),
  skill: z.string(),
  status: z.enum([
    'pending',
    'running',
    'waiting_approval',
    'waiting_recovery',
    'retrying',
    'succeeded',
    'failed',
    'skipped',
    'compensating',
    'compensated',
    'compensation_failed',
  ]),
  attempts: z.array(attemptView),
  output: shownValue.nullable(),
  reason: z.string().nullable(),
  compensation: z.object({ skill: z.string(), attempts: z.array(attemptView) }).nullable(),
});
const estimates = z.object({ v1: planEstimateSchema, v2: planEstimateSchema });
export const runDetailSchema = z.object({
  runId,
  tenantId: z.string(),
  agentId: z.string(),
  status: runStatus,
  steps: z.array(stepView),
  edges: z
    .array(z.object({ from: z.string(), to: z.string() }))
    .describe('dependency → dependent, by step id'),
  output: shownValue.nullable().describe("the plan's output, resolved, once the run has succeeded"),
  compensations: z.array(z.object({ stepIndex: z.int(), outcome: z.enum(['succeeded', 'failed']) })),
  pendingApprovalIds: z
    .array(z.uuid())
    .describe('approvals asked for and not yet decided, expired or closed (POST …/approvals/:approvalId)'),
  costMicros: z.int().describe("what the run's own attempts were charged plus what its child runs spent"),
  estimate: estimates.nullable(),
  reason: z.string().nullable(),
  parentRunId: z
    .string()
    .nullable()
    .describe('the run whose agent_invoke / agent_spawn step started this one'),
  children: z
    .array(
      z.object({
        runId,
        stepId: z.string(),
        mode: z.enum(['invoke', 'spawn']),
        status: runStatus,
        budgetMicros: z.int(),
        chargedMicros: z.int().nullable().describe('what the child spent, once it ended'),
      }),
    )
    .describe('child runs started by this run, in the order they started'),
  recoveries: z
    .array(
      z.object({
        recoveryId: z.uuid(),
        stepIndex: z.int(),
        attempt: z.int().describe('the failed attempt it was suggested for'),
        errorCode: z.string(),
        mode: z.enum(recoveryModes),
        params: z.record(z.string(), z.unknown()),
        change: z
          .record(z.string(), z.unknown())
          .describe("what the step's next call changes if it is taken: model, maxTokens or skill"),
        confidence: z.number(),
        automatic: z.boolean(),
        status: z
          .enum(['pending', 'accepted', 'rejected', 'applied', 'closed'])
          .describe('closed: the run ended before anyone decided it'),
        decidedBy: z.string().nullable().describe('role:key id, or automatic'),
        suggestedAt: z.string(),
        decidedAt: z.string().nullable(),
      }),
    )
    .describe('recoveries suggested by the failure catalog (POST …/recoveries/:recoveryId to decide one)'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type RunDetail = z.infer<typeof runDetailSchema>;

export const recordedEventSchema = z.object({
  eventId: z.uuid(),
  streamId: z.string(),
  streamPosition: z.int(),
  globalPosition: z.string(),
  type: z.string(),
  schemaVersion: z.int(),
  data: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
  recordedAt: z.string(),
  prevHash: z.string(),
  hash: z.string(),
});
export type RecordedEventView = z.infer<typeof recordedEventSchema>;

export const submitRun = defineRoute({
  method: 'POST',
  url: '/v1/runs',
  summary: 'Submit a run',
  tags: ['runs'],
  permission: 'submit',
  headers: idempotencyHeaders,
  body: submitRunRequestSchema,
  response: {
    202: runReceipt.describe('queued'),
    200: runReceipt.describe('the same Idempotency-Key and body again: the first receipt'),
  },
  errors: [409, 413],
});

export const simulateRun = defineRoute({
  method: 'POST',
  url: '/v1/simulate',
  summary: 'Estimate a plan (v1 and v2) and check it against policy; writes nothing',
  tags: ['runs'],
  permission: 'read',
  body: submitRunRequestSchema,
  response: {
    200: z.object({
      estimate: estimates,
      costMicros: z.int().describe('the estimate of record (basis) for the whole plan'),
      basis: z
        .object({ estimator: z.enum(['v1', 'v2']), note: z.string().optional() })
        .describe('the estimate of record: v2, or v1 while the drift breaker has v2 out (note says why)'),
      withinBudget: z.boolean(),
      feasible: z.boolean(),
      reasons: z.array(z.string()).describe('why the plan is not feasible; empty when it is'),
      risks: z.array(z.string()).describe('what may stop or slow it: approvals, side effects, failure risk'),
      issues: z
        .array(submissionIssueSchema)
        .describe('what submission would refuse: unknown skills, inputs that break their schema'),
      policy: z.object({ version: z.string(), hash: z.string() }),
      priceTable: z.object({ version: z.string(), hash: z.string() }),
      steps: z.array(
        z.object({
          index: z.int(),
          id: z.string(),
          dependsOn: z.array(z.string()),
          skill: z.string(),
          known: z.boolean(),
          sideEffecting: z.boolean(),
          costMicros: z.int(),
          policy: z
            .looseObject({ result: z.string(), ruleId: z.string(), reason: z.string() })
            .describe('the verdict execution would reach: allow, deny, require_approval, or deferred'),
        }),
      ),
    }),
  },
  errors: [413],
});

export const getRun = defineRoute({
  method: 'GET',
  url: '/v1/runs/:id',
  summary: 'A run with its steps, attempts, costs and estimates',
  tags: ['runs'],
  permission: 'read',
  params: runParams,
  response: { 200: runDetailSchema },
  errors: [404],
});

export const runOutput = defineRoute({
  method: 'GET',
  url: '/v1/runs/:id/output',
  summary:
    "A run's output (the plan's `output` reference, resolved) and its hash; null until it has succeeded",
  tags: ['runs'],
  permission: 'read',
  params: runParams,
  response: {
    200: z.object({
      runId: runId.nullable(),
      status: runStatus,
      output: z.unknown(),
      hash: z.string().nullable(),
    }),
  },
  errors: [404],
});

export const runEvents = defineRoute({
  method: 'GET',
  url: '/v1/runs/:id/events',
  summary: "A run's recorded events, with their hashes",
  tags: ['runs'],
  permission: 'read',
  params: runParams,
  querystring: z.strictObject({
    from: z.coerce.number().int().min(0).default(0),
    limit: limit(1000, 100),
  }),
  response: { 200: z.object({ runId, events: z.array(recordedEventSchema), total: z.int() }) },
  errors: [404],
});

export const cancelRun = defineRoute({
  method: 'POST',
  url: '/v1/runs/:id/cancel',
  summary: 'Ask a run to stop',
  tags: ['runs'],
  permission: 'cancel',
  params: runParams,
  headers: idempotencyHeaders,
  body: z
    .strictObject({ reason: z.string().max(2000).default('cancelled by request') })
    .default({ reason: 'cancelled by request' }),
  response: {
    202: z
      .object({ runId, status: statusAfterCommand, cancelRequested: z.literal(true) })
      .describe('cancellation requested'),
  },
  errors: [404, 409],
});

export const decideApproval = defineRoute({
  method: 'POST',
  url: '/v1/runs/:id/approvals/:approvalId',
  summary: 'Approve or reject a step waiting for approval',
  tags: ['runs'],
  permission: 'approve',
  params: z.strictObject({ id: runId, approvalId: z.uuid() }),
  body: z.strictObject({
    decision: z.enum(['approve', 'reject']),
    comment: z.string().max(2000).optional(),
  }),
  response: {
    200: z.object({
      runId,
      approvalId: z.uuid(),
      decision: z.enum(['approve', 'reject']),
      status: statusAfterCommand,
    }),
  },
  errors: [404, 409],
});

export const decideRecovery = defineRoute({
  method: 'POST',
  url: '/v1/runs/:id/recoveries/:recoveryId',
  summary:
    "Accept or reject a recovery suggested for a failed step (an accepted one is applied to the step's next attempt)",
  tags: ['runs'],
  permission: 'approve',
  params: z.strictObject({ id: runId, recoveryId: z.uuid() }),
  body: z.strictObject({
    decision: z.enum(['accept', 'reject']),
    comment: z.string().max(2000).optional(),
  }),
  response: {
    200: z.object({
      runId,
      recoveryId: z.uuid(),
      decision: z.enum(['accept', 'reject']),
      status: statusAfterCommand,
    }),
  },
  errors: [404, 409],
});
