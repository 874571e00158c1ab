import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCodeNames } from '../../../domain/errors.ts';
import { validateNewEvent } from '../../../domain/events/catalog.ts';
import type { RunEvent } from '../../../domain/events/run-events.ts';
import { certifyRun, observationsFromEvents, replayCommands } from '../../../domain/run/certify.ts';
import type { SubmitRun } from '../../../domain/run/commands.ts';
import type { SkillOutcome } from '../../../domain/skill.ts';
import { drive, type Script, type ScriptedOutcome } from './driver.ts';
import { llmStep, submit, transformStep } from './fixtures.ts';

const usage = { model: 'stub', inputTokens: 1200, outputTokens: 80, cachedInputTokens: 300 };
const ok: SkillOutcome = { ok: true, output: { answer: 42 }, usage };
const timeout: SkillOutcome = { ok: false, errorCode: 'TIMEOUT', message: 'timed out' };

function expectRoundTrip(events: RunEvent[]): void {
  const commands = observationsFromEvents(events);
  expect(replayCommands(commands)).toStrictEqual(events);
  // What the store would hand back: JSON, each event re-validated against the catalog.
  const stored = JSON.parse(JSON.stringify(events)) as RunEvent[];
  for (const event of stored) validateNewEvent(event);
  expect(certifyRun(stored)).toMatchObject({ certified: true, events: events.length });
}

const approvalPolicy = {
  version: 'appr',
  rules: { requireApprovalSkills: ['llm_invoke'], approvalTimeoutMs: 60_000 },
};

const scenarios: Array<[string, SubmitRun, Script, string]> = [
  ['success', submit(), { outcome: () => ok }, 'succeeded'],
  [
    'retries then success, with Retry-After and a charged failure',
    submit(),
    {
      outcome: (step, attempt) =>
        step === 0 && attempt === 1
          ? { ok: false, errorCode: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 5_000, usage }
          : step === 0 && attempt === 2
            ? timeout
            : ok,
    },
    'succeeded',
  ],
  ['retries exhausted', submit(), { outcome: () => timeout }, 'failed'],
  [
    'approval granted',
    submit({ policy: approvalPolicy }),
    { outcome: () => ok, approval: () => 'approve' },
    'succeeded',
  ],
  [
    'approval rejected',
    submit({ policy: approvalPolicy }),
    { outcome: () => ok, approval: () => 'reject' },
    'policy_denied',
  ],
  [
    'approval expired',
    submit({ policy: approvalPolicy }),
    { outcome: () => ok, approval: () => 'expire' },
    'failed',
  ],
  ['budget refused', submit(), { outcome: () => ok, budgetRemaining: () => 3 }, 'budget_exceeded'],
  [
    'run budget exhausted by charges',
    submit({ budget: { maxCostMicros: 150 } }),
    { outcome: () => ({ ok: false, errorCode: 'HTTP_5XX', message: '502', usage }) },
    'budget_exceeded',
  ],
  ['cancellation', submit(), { outcome: () => ok, cancelBeforeAction: 3 }, 'cancelled'],
  [
    'cancel while awaiting approval',
    submit({ policy: approvalPolicy }),
    { outcome: () => ok, approval: () => 'cancel' },
    'cancelled',
  ],
  [
    'timeout',
    submit({ budget: { maxCostMicros: 2_000_000, deadlineMs: 4_500 } }),
    { outcome: () => timeout },
    'timed_out',
  ],
  [
    'worker lost, then retried',
    submit(),
    { outcome: (_, attempt) => (attempt === 1 ? 'worker_lost' : ok) },
    'succeeded',
  ],
  [
    'policy denial with onFailure=continue',
    submit({
      plan: {
        steps: [
          { skill: 'http_call', input: { url: 'http://169.254.169.254/' }, onFailure: 'continue' },
          transformStep,
        ],
      },
    }),
    { outcome: () => ({ ok: true, output: 1 }) },
    'succeeded',
  ],
];

describe('certification round trip', () => {
  it.each(scenarios)('%s', (_name, submission, script, finalStatus) => {
    const { events, state } = drive(submission, script);
    expect(state.status).toBe(finalStatus);
    expectRoundTrip(events);
  });

  it('reports the first mismatch with its position and a diff', () => {
    const { events } = drive(submit(), { outcome: () => ok });
    const position = events.findIndex((event) => event.type === 'CostCharged');
    const original = events[position]?.type === 'CostCharged' ? events[position].data.computedMicros : -1;
    const tampered = events.map((event, index) =>
      index === position ? ({ ...event, data: { ...event.data, computedMicros: 1 } } as RunEvent) : event,
    );
    const result = certifyRun(tampered);
    expect(result).toMatchObject({ certified: false, position });
    expect(result.certified === false && result.diff).toEqual([`data.computedMicros: 1 ≠ ${original}`]);
  });

  it('reports a recorded event the decider would not have produced', () => {
    const { events } = drive(submit(), { outcome: () => ok });
    const tampered = events.map((event) =>
      event.type === 'SkillCallSucceeded'
        ? ({ ...event, data: { ...event.data, attempt: 2 } } as RunEvent)
        : event,
    );
    const result = certifyRun(tampered);
    expect(result.certified).toBe(false);
  });
});

const outcomeArb: fc.Arbitrary<ScriptedOutcome> = fc.oneof(
  fc.record({
    ok: fc.constant(true as const),
    output: fc.jsonValue(),
    usage: fc.option(
      fc.record({
        model: fc.constantFrom('stub', 'gpt-4o', 'unknown-model'),
        inputTokens: fc.nat(5_000),
        outputTokens: fc.nat(2_000),
        cachedInputTokens: fc.nat(5_000),
      }),
      { nil: undefined },
    ),
    providerCostMicros: fc.option(fc.nat(10_000), { nil: undefined }),
  }),
  fc.record({
    ok: fc.constant(false as const),
    errorCode: fc.constantFrom(...errorCodeNames),
    message: fc.string({ maxLength: 20 }),
    retryAfterMs: fc.option(fc.nat(60_000), { nil: undefined }),
  }),
  fc.constant('worker_lost' as const),
);

/** Removes keys whose value is undefined, as a real outcome from JSON would not have them. */
function clean(outcome: ScriptedOutcome): ScriptedOutcome {
  if (outcome === 'worker_lost') return outcome;
  return Object.fromEntries(
    Object.entries(outcome).filter(([, value]) => value !== undefined),
  ) as SkillOutcome;
}

describe('certification property', () => {
  it('any sequence of outcomes, approvals, refusals and cancels certifies', () => {
    fc.assert(
      fc.property(
        fc.array(outcomeArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.constantFrom('approve', 'reject', 'expire', 'cancel' as const), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.record({
          steps: fc.integer({ min: 1, max: 3 }),
          maxAttempts: fc.integer({ min: 1, max: 4 }),
          onFailure: fc.constantFrom('fail', 'continue' as const),
          needsApproval: fc.boolean(),
          cancelBeforeAction: fc.option(fc.nat(20), { nil: undefined }),
          budgetRemaining: fc.option(fc.nat(100), { nil: undefined }),
          maxCostMicros: fc.integer({ min: 100, max: 50_000 }),
          deadlineMs: fc.integer({ min: 2_000, max: 600_000 }),
          seed: fc.oneof(fc.integer(), fc.string({ minLength: 1, maxLength: 8 })),
          tickMs: fc.integer({ min: 1, max: 5_000 }),
        }),
        (outcomes, approvals, shape) => {
          const steps = Array.from({ length: shape.steps }, (_, index) => ({
            ...(index % 2 === 0 ? llmStep : { skill: 'json_transform', input: transformStep.input }),
            retry: { maxAttempts: shape.maxAttempts, initialDelayMs: 100, maxDelayMs: 5_000 },
            onFailure: shape.onFailure,
          }));
          const submission = submit({
            plan: { steps },
            seed: shape.seed,
            budget: { maxCostMicros: shape.maxCostMicros, deadlineMs: shape.deadlineMs },
            policy: {
              version: 'prop',
              rules: {
                ...(shape.needsApproval ? { requireApprovalSkills: ['llm_invoke'] } : {}),
                approvalTimeoutMs: 30_000,
                infeasibleEstimate: 'flag',
              },
            },
          });
          let call = 0;
          let approval = 0;
          const script: Script = {
            outcome: () => clean(outcomes[call++ % outcomes.length]!),
            approval: () => approvals[approval++ % approvals.length]!,
            tickMs: shape.tickMs,
            ...(shape.cancelBeforeAction === undefined
              ? {}
              : { cancelBeforeAction: shape.cancelBeforeAction }),
            ...(shape.budgetRemaining === undefined ? {} : { budgetRemaining: () => shape.budgetRemaining }),
          };
          const { events, state } = drive(submission, script);
          expect(events.at(-1)?.type).toBe('RunCompleted');
          expect([
            'succeeded',
            'failed',
            'cancelled',
            'budget_exceeded',
            'policy_denied',
            'timed_out',
          ]).toContain(state.status);
          expectRoundTrip(events);
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    );
  });
});
