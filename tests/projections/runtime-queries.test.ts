// Given/then specs of the projections the runtime queries read (POST /v1/runtime/query):
// attempts (what_did_i_try_already), run-context (remaining_budget of a run, last_step_outcome)
// and budget-days (remaining_budget of the tenant day). The runs are recorded by the real run
// decider; the figures are read from their own events.
import { describe, expect, it } from 'vitest';
import { runLedgerStreamId } from '../../domain/budget/ledger.ts';
import type { RunEvent, RunEventData, RunEventType } from '../../domain/events/run-events.ts';
import { canonicalHash } from '../../domain/hashing.ts';
import { attemptsProjection } from '../../projections/attempts.ts';
import { budgetDaysProjection } from '../../projections/budget-days.ts';
import { runContextProjection } from '../../projections/run-context.ts';
import { projectionSpec, recorded } from '../domain/projection-spec.ts';
import {
  evaluate,
  fail,
  history,
  llmStep,
  start,
  submit,
  succeed,
  transformStep,
} from '../domain/run/fixtures.ts';

const retried = history(
  submit(),
  evaluate(1),
  start(2),
  fail(3, 'HTTP_5XX'),
  evaluate(60_000),
  start(60_001, 'res-2'),
  succeed(60_002),
  evaluate(60_003),
  start(60_004, 'res-3', 0),
  succeed(60_005, 1),
);
const of = <T extends RunEventType>(events: RunEvent[], type: T): RunEventData<T>[] =>
  events.filter((e) => e.type === type).map((e) => e.data as RunEventData<T>);

const metadataStep = { skill: 'http_call', input: { method: 'GET', url: 'http://169.254.169.254/latest' } };
const denied = history(submit({ runId: 'run-2', plan: { steps: [metadataStep] } }), evaluate(1));

describe('attempts projection', () => {
  it('given a retried call, then one row per attempt: skill, input hash, how it ended, when', () => {
    const started = of(retried, 'SkillCallStarted');
    const failed = of(retried, 'SkillCallFailed')[0]!;
    const succeeded = of(retried, 'SkillCallSucceeded');
    projectionSpec(attemptsProjection)
      .given(recorded('run-run-1', retried))
      .then([
        {
          run_id: 'run-1',
          step_index: 0,
          attempt: 1,
          compensation: false,
          tenant_id: 'tenant-1',
          agent_id: 'researcher',
          step_id: 'step-1',
          skill: 'llm_invoke',
          skill_version: null,
          input_hash: canonicalHash(llmStep.input),
          outcome: 'failed',
          error_code: 'HTTP_5XX',
          category: 'TRANSIENT',
          retryable: true,
          message: failed.message,
          started_at: started[0]!.at,
          ended_at: failed.at,
        },
        expect.objectContaining({
          step_index: 0,
          attempt: 2,
          outcome: 'succeeded',
          error_code: null,
          started_at: started[1]!.at,
          ended_at: succeeded[0]!.at,
        }),
        expect.objectContaining({
          step_index: 1,
          attempt: 1,
          skill: 'json_transform',
          input_hash: canonicalHash(transformStep.input),
          outcome: 'succeeded',
          ended_at: succeeded[1]!.at,
        }),
      ]);
  });

  it('given a call the policy denies, then a row for it although it never started', () => {
    const decision = of(denied, 'PolicyDecided')[0]!;
    expect(decision.result).toBe('deny');
    projectionSpec(attemptsProjection)
      .given(recorded('run-run-2', denied))
      .thenMatches([
        {
          run_id: 'run-2',
          attempt: 1,
          skill: 'http_call',
          input_hash: canonicalHash(metadataStep.input),
          outcome: 'denied',
          error_code: 'POLICY_DENIED',
          category: 'PERMISSION',
          retryable: false,
          message: decision.reason,
          started_at: decision.at,
        },
      ]);
  });

  it('given a step over the run budget, then a refused attempt naming the budget', () => {
    const overBudget = history(
      submit({
        runId: 'run-3',
        policy: { version: 'flag-1', rules: { infeasibleEstimate: 'flag' } },
        budget: { maxCostMicros: 1 },
      }),
      evaluate(1),
    );
    const exceeded = of(overBudget, 'BudgetExceeded')[0]!;
    projectionSpec(attemptsProjection)
      .given(recorded('run-run-3', overBudget))
      .thenMatches([
        {
          run_id: 'run-3',
          outcome: 'refused',
          error_code: 'BUDGET_EXCEEDED',
          category: 'RESOURCE',
          message: `run budget: ${exceeded.requestedMicros} micros asked, ${exceeded.remainingMicros} remain`,
        },
      ]);
  });
});

describe('run-context projection', () => {
  it('given a run in flight, then its cap, what it was charged and what its call holds', () => {
    const inFlight = retried.slice(
      0,
      retried.findIndex((e) => e.type === 'SkillCallStarted' && e.data.attempt === 2) + 1,
    );
    const charged = of(inFlight, 'CostCharged').reduce((sum, c) => sum + c.chargedMicros, 0);
    projectionSpec(runContextProjection)
      .given(recorded('run-run-1', inFlight))
      .thenMatches([
        {
          run_id: 'run-1',
          agent_id: 'researcher',
          status: 'running',
          max_cost_micros: 2_000_000,
          charged_micros: charged,
          in_flight_micros: 40,
          last_step: null,
        },
      ]);
  });

  it('given a finished run, then its total charge, nothing held, and its last step', () => {
    const completed = of(retried, 'RunCompleted')[0]!;
    const lastStep = of(retried, 'StepCompleted').at(-1)!;
    projectionSpec(runContextProjection)
      .given(recorded('run-run-1', retried))
      .thenMatches([
        {
          status: 'succeeded',
          charged_micros: completed.chargedMicros,
          in_flight_micros: 0,
          last_step: {
            stepIndex: 1,
            stepId: 'step-2',
            skill: 'json_transform',
            outcome: 'succeeded',
            attempts: 1,
            errorCode: null,
            output: { value: 1, hash: canonicalHash(1) },
            at: lastStep.at,
          },
          last_step_at: lastStep.at,
          updated_at: completed.at,
        },
      ]);
  });

  it('given a denied step, then the last step failed with the policy code', () => {
    projectionSpec(runContextProjection)
      .given(recorded('run-run-2', denied))
      .thenMatches([
        {
          status: 'policy_denied',
          last_step: { skill: 'http_call', outcome: 'failed', errorCode: 'POLICY_DENIED' },
        },
      ]);
  });
});

describe('budget-days projection', () => {
  const day = '2025-01-01';
  const ledger = (runId: string) => runLedgerStreamId('tenant-1', day, runId);
  const reserved = (
    runId: string,
    id: string,
    amountMicros: number,
    model?: string,
    modelCapMicros?: number,
  ) => ({
    type: 'BudgetReserved',
    data: {
      reservationId: id,
      runId,
      amountMicros,
      limitMicros: 1_000_000,
      ...(model ? { model } : {}),
      ...(modelCapMicros ? { modelCapMicros } : {}),
    },
  });

  it("given two runs' ledgers of one day, then the day's totals and each model's share and cap", () => {
    const events = [
      ...recorded(ledger('a'), [
        reserved('a', 'r1', 300, 'gpt-4o', 5_000),
        {
          type: 'BudgetSettled',
          data: { reservationId: 'r1', runId: 'a', reservedMicros: 300, actualMicros: 250, model: 'gpt-4o' },
        },
      ]),
      ...recorded(
        ledger('b'),
        [
          reserved('b', 'r2', 100, 'gpt-4o', 5_000),
          reserved('b', 'r3', 70),
          { type: 'BudgetReleased', data: { reservationId: 'r3', runId: 'b', amountMicros: 70 } },
        ],
        { firstGlobalPosition: 10 },
      ),
    ];
    projectionSpec(budgetDaysProjection)
      .given(events)
      .then([
        {
          tenant_id: 'tenant-1',
          day,
          reserved_micros: 100,
          settled_micros: 250,
          models: [{ model: 'gpt-4o', committedMicros: 350, capMicros: 5_000 }],
        },
      ]);
  });
});
