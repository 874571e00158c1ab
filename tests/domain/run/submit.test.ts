import { describe, expect, it } from 'vitest';
import { defaultPolicy, policyHash } from '../../../domain/policy.ts';
import { defaultPriceTable, priceTableHash } from '../../../domain/pricing.ts';
import { defaultRetryPolicy } from '../../../domain/retry.ts';
import { foldRun } from '../../../domain/run/state.ts';
import { history, llmStep, openPolicy, spec, submit, T0, transformStep } from './fixtures.ts';

describe('SubmitRun', () => {
  it('records RunSubmitted with resolved steps and snapshots, then RunEstimated (v1 and v2)', () => {
    const [submitted, estimated] = spec.given([]).when(submit()).then(history(submit()));
    expect(submitted).toEqual({
      type: 'RunSubmitted',
      data: {
        runId: 'run-1',
        tenantId: 'tenant-1',
        agentId: 'researcher',
        plan: {
          steps: [
            { ...llmStep, retry: defaultRetryPolicy, onFailure: 'fail', sideEffecting: false },
            {
              skill: 'json_transform',
              input: transformStep.input,
              // json_transform's default is a single attempt; the step asked for two.
              retry: { ...defaultRetryPolicy, maxAttempts: 2 },
              onFailure: 'fail',
              sideEffecting: false,
            },
          ],
        },
        budget: { maxCostMicros: 2_000_000, maxSteps: 50, deadlineMs: 3_600_000 },
        seed: 7,
        policy: { ...defaultPolicy, hash: policyHash(defaultPolicy) },
        priceTable: { ...defaultPriceTable, hash: priceTableHash(defaultPriceTable) },
        deadlineAt: '2025-01-01T01:00:00.000Z',
        at: T0,
      },
    });
    // stub: 3 input tokens × 0.1 + 100 output × 0.2 = 20.3 → 21 micros; v1: 5 cents for the LLM call.
    expect(estimated).toMatchObject({
      type: 'RunEstimated',
      data: {
        runId: 'run-1',
        basis: 'v2',
        flagged: false,
        v1: { costMicros: 50_000, feasible: true },
        v2: { costMicros: 21, feasible: true },
      },
    });
    expect(foldRun([submitted!, estimated!]).status).toBe('queued');
  });

  it('normalises now to UTC milliseconds', () => {
    const [submitted] = history(submit({ now: '2025-01-01T02:00:00+02:00' }));
    expect(submitted?.data).toMatchObject({ at: T0 });
  });

  it('marks a non-GET http_call side-effecting, and honours an explicit flag', () => {
    const steps = [
      { skill: 'http_call', input: { url: 'https://api.example.com/x', method: 'POST' } },
      { skill: 'http_call', input: { url: 'https://api.example.com/x' } },
      { skill: 'llm_invoke', input: { model: 'stub', prompt: 'x' }, sideEffecting: true },
    ];
    const [submitted] = history(submit({ plan: { steps } }));
    const recorded = submitted?.type === 'RunSubmitted' ? submitted.data.plan.steps : [];
    expect(recorded.map((step) => step.sideEffecting)).toEqual([true, false, true]);
  });

  it('takes skill facts from the registry: default retry and side effects', () => {
    const customRetry = { ...defaultRetryPolicy, maxAttempts: 7 };
    const [submitted] = history(
      submit({
        plan: { steps: [{ skill: 'send_email', input: {} }] },
        policy: openPolicy,
        skills: { send_email: { defaultRetry: customRetry, sideEffecting: true } },
      }),
    );
    expect(submitted?.type === 'RunSubmitted' && submitted.data.plan.steps[0]).toMatchObject({
      retry: customRetry,
      sideEffecting: true,
    });
  });

  it('refuses an empty plan', () => {
    spec
      .given([])
      .when(submit({ plan: { steps: [] } }))
      .thenThrows('INVALID_INPUT', /at least one step/);
  });

  it('refuses malformed input with the failing paths', () => {
    const error = spec
      .given([])
      .when(submit({ budget: { maxCostMicros: -5 } }))
      .thenThrows('INVALID_INPUT');
    expect(error.message).toContain('budget.maxCostMicros');
  });

  it('refuses a plan longer than maxSteps', () => {
    spec
      .given([])
      .when(submit({ budget: { maxCostMicros: 2_000_000, maxSteps: 1 } }))
      .thenThrows('BUDGET_EXCEEDED', /maxSteps 1/);
  });

  it('refuses a plan whose estimate exceeds its budget', () => {
    const error = spec
      .given([])
      .when(submit({ budget: { maxCostMicros: 20 } }))
      .thenThrows('BUDGET_EXCEEDED', /exceeds the budget/);
    expect(error.details).toMatchObject({ maxCostMicros: 20 });
  });

  it('accepts and flags it when the policy says to flag', () => {
    const policy = { version: 'flag-1', rules: { infeasibleEstimate: 'flag' as const } };
    spec
      .given([])
      .when(submit({ budget: { maxCostMicros: 20 }, policy }))
      .thenMatches([{ type: 'RunSubmitted' }, { type: 'RunEstimated', data: { flagged: true } }]);
  });

  it('refuses a plan that uses a skill the policy denies', () => {
    const policy = { version: 'p', rules: { denySkills: ['json_transform'] } };
    const error = spec
      .given([])
      .when(submit({ policy }))
      .thenThrows('POLICY_DENIED', /step 1/);
    expect(error.details).toMatchObject({ ruleId: 'skills.deny', stepIndex: 1 });
  });

  it('refuses a plan that is too risky', () => {
    const steps = Array.from({ length: 4 }, () => ({ skill: 'mystery', input: {} }));
    spec
      .given([])
      .when(submit({ plan: { steps }, policy: openPolicy }))
      .thenThrows('POLICY_DENIED', /risk/);
  });

  it('refuses a policy or price table whose given hash does not match', () => {
    spec
      .given([])
      .when(submit({ policy: { ...defaultPolicy, hash: '0'.repeat(64) } }))
      .thenThrows('INVALID_INPUT', /policy hash/);
    spec
      .given([])
      .when(submit({ priceTable: { ...defaultPriceTable, hash: 'abc' } }))
      .thenThrows('INVALID_INPUT', /price table hash/);
  });

  it('refuses a retry override that makes an invalid policy', () => {
    const steps = [{ ...llmStep, retry: { maxDelayMs: 1 } }];
    spec
      .given([])
      .when(submit({ plan: { steps } }))
      .thenThrows('INVALID_INPUT', /retry/);
  });

  it('refuses a second submission of the same run', () => {
    spec.given(history(submit())).when(submit()).thenThrows('CONFLICT');
  });
});
