import { describe, expect, it } from 'vitest';
import { policyDecisionId } from '../../../domain/policy.ts';
import { defaultPriceTable, priceTableHash } from '../../../domain/pricing.ts';
import { retryDelayMs } from '../../../domain/retry.ts';
import { approvalIdFor, WORKER_LOST_MESSAGE } from '../../../domain/run/decide.ts';
import { foldRun } from '../../../domain/run/state.ts';
import {
  at,
  evaluate,
  fail,
  history,
  llmStep,
  operator,
  spec,
  start,
  submit,
  succeed,
  transformStep,
  viewer,
} from './fixtures.ts';

const submitted = history(submit());
const approvalPolicy = { version: 'appr-1', rules: { requireApprovalSkills: ['llm_invoke'] } };
const withApproval = history(submit({ policy: approvalPolicy }), evaluate(1_000));
const approvalId = approvalIdFor('run-1', 0);
const decideApproval = (decision: 'approve' | 'reject', ms: number, actor = operator) => ({
  type: 'DecideApproval' as const,
  approvalId,
  decision,
  actor,
  now: at(ms),
});

describe('EvaluateStep', () => {
  it('records an allow as PolicyDecided; the run is running', () => {
    const events = spec
      .given(submitted)
      .when(evaluate(1_000))
      .thenMatches([
        {
          type: 'PolicyDecided',
          data: {
            runId: 'run-1',
            stepIndex: 0,
            attempt: 1,
            decisionId: policyDecisionId({ runId: 'run-1', stepIndex: 0, attempt: 1 }),
            ruleId: 'default.allow',
            result: 'allow',
            input: { skill: 'llm_invoke', estimateMicros: 21, sideEffecting: false, approvalGranted: false },
            at: at(1_000),
          },
        },
      ]);
    expect(foldRun([...submitted, ...events]).status).toBe('running');
  });

  it('a deny fails the step and ends the run policy_denied', () => {
    const steps = [{ skill: 'http_call', input: { url: 'http://169.254.169.254/latest' } }];
    spec
      .given(history(submit({ plan: { steps } })))
      .when(evaluate(1_000))
      .thenMatches([
        { type: 'PolicyDecided', data: { result: 'deny', ruleId: 'http.hosts.deny' } },
        {
          type: 'StepCompleted',
          data: { stepIndex: 0, outcome: 'failed', attempts: 0, errorCode: 'POLICY_DENIED' },
        },
        { type: 'RunCompleted', data: { status: 'policy_denied', errorCode: 'POLICY_DENIED', stepIndex: 0 } },
      ]);
  });

  it('a deny of a step with onFailure=continue moves on to the next step', () => {
    const steps = [
      { skill: 'http_call', input: { url: 'http://169.254.169.254/' }, onFailure: 'continue' as const },
      transformStep,
    ];
    const given = history(submit({ plan: { steps } }));
    const events = spec
      .given(given)
      .when(evaluate(1_000))
      .thenMatches([{ type: 'PolicyDecided' }, { type: 'StepCompleted', data: { outcome: 'failed' } }]);
    const state = foldRun([...given, ...events]);
    expect(state.status !== 'none' && state.steps.map((step) => [step.status, step.attempt])).toEqual([
      ['failed', 1],
      ['active', 1],
    ]);
  });

  it('a continued failure on the last step still completes the run as succeeded', () => {
    const steps = [
      transformStep,
      { skill: 'http_call', input: { url: 'http://169.254.169.254/' }, onFailure: 'continue' as const },
    ];
    spec
      .given(history(submit({ plan: { steps } }), evaluate(1), start(2, 'r', 0), succeed(3, 1, undefined)))
      .when(evaluate(4))
      .thenMatches([
        { type: 'PolicyDecided' },
        { type: 'StepCompleted', data: { stepIndex: 1, outcome: 'failed' } },
        {
          type: 'RunCompleted',
          data: { status: 'succeeded', reason: 'all steps done; 1 failed step(s) were continued' },
        },
      ]);
  });

  it('a step that needs approval asks for it, expiring after the policy timeout', () => {
    const events = spec
      .given(history(submit({ policy: approvalPolicy })))
      .when(evaluate(1_000))
      .thenMatches([
        { type: 'PolicyDecided', data: { result: 'require_approval', ruleId: 'approval.required' } },
        {
          type: 'ApprovalRequested',
          data: {
            approvalId,
            stepIndex: 0,
            attempt: 1,
            expiresAt: at(1_000 + 24 * 3_600_000),
            at: at(1_000),
          },
        },
      ]);
    expect(foldRun([...history(submit({ policy: approvalPolicy })), ...events]).status).toBe(
      'waiting_approval',
    );
  });

  it('ends the run cancelled at the boundary when a cancel was requested', () => {
    const cancel = {
      type: 'RequestCancel' as const,
      actor: operator,
      reason: 'no longer needed',
      now: at(500),
    };
    spec
      .given(history(submit(), cancel))
      .when(evaluate(1_000))
      .then([
        {
          type: 'RunCompleted',
          data: {
            runId: 'run-1',
            status: 'cancelled',
            reason: 'cancelled by op-1: no longer needed',
            errorCode: 'CANCELLED',
            chargedMicros: 0,
            at: at(1_000),
          },
        },
      ]);
  });

  it('schedules no retry after a cancel: the failed attempt ends the run cancelled', () => {
    const cancel = { type: 'RequestCancel' as const, actor: operator, reason: 'stop', now: at(1_500) };
    spec
      .given(history(submit(), evaluate(1_000), start(1_200), cancel))
      .when(fail(2_000, 'HTTP_5XX'))
      .thenMatches([
        { type: 'SkillCallFailed', data: { errorCode: 'HTTP_5XX', retryable: true } },
        { type: 'RunCompleted', data: { status: 'cancelled', errorCode: 'CANCELLED' } },
      ]);
  });

  it('ends the run timed_out past its deadline', () => {
    spec
      .given(submitted)
      .when(evaluate(3_600_000))
      .thenMatches([{ type: 'RunCompleted', data: { status: 'timed_out', errorCode: 'TIMEOUT' } }]);
  });

  it('does nothing before a scheduled retry is due', () => {
    const given = history(submit(), evaluate(1), start(2), fail(3, 'TIMEOUT'));
    spec.given(given).when(evaluate(4)).thenNothing();
  });

  it('ends the run budget_exceeded when the next attempt would pass the run budget', () => {
    // Each attempt of the LLM step costs 220 micros here against a 230 micro budget.
    const given = history(
      submit({ budget: { maxCostMicros: 230 } }),
      evaluate(1),
      start(2),
      fail(3, 'TIMEOUT', {
        usage: { model: 'stub', inputTokens: 1000, outputTokens: 500, cachedInputTokens: 2000 },
      }),
    );
    spec
      .given(given)
      .when(evaluate(60_000))
      .thenMatches([
        {
          type: 'BudgetExceeded',
          data: { scope: 'run', stepIndex: 0, attempt: 2, requestedMicros: 21, remainingMicros: 10 },
        },
        { type: 'RunCompleted', data: { status: 'budget_exceeded', chargedMicros: 220 } },
      ]);
  });

  it('is refused while an attempt is in flight, on a missing run, and on an ended run', () => {
    spec
      .given(history(submit(), evaluate(1), start(2)))
      .when(evaluate(3))
      .thenThrows('CONFLICT', /in flight/);
    spec.given([]).when(evaluate(3)).thenThrows('NOT_FOUND');
    spec
      .given(history(submit(), evaluate(3_600_000)))
      .when(evaluate(3_600_001))
      .thenThrows('CONFLICT', /ended/);
  });
});

describe('approvals', () => {
  it('an operator grants; the run is running and ready to reserve', () => {
    const events = spec
      .given(withApproval)
      .when(decideApproval('approve', 2_000))
      .then([
        {
          type: 'ApprovalGranted',
          data: { runId: 'run-1', stepIndex: 0, approvalId, actor: operator, at: at(2_000) },
        },
      ]);
    expect(foldRun([...withApproval, ...events]).status).toBe('running');
  });

  it('only admin and operator may decide', () => {
    spec
      .given(withApproval)
      .when(decideApproval('approve', 2_000, viewer))
      .thenThrows('PERMISSION_DENIED');
    spec
      .given(withApproval)
      .when(decideApproval('approve', 2_000, { id: 'sys', role: 'system' }))
      .thenThrows('PERMISSION_DENIED');
    spec
      .given(withApproval)
      .when(decideApproval('approve', 2_000, { id: 'a', role: 'admin' }))
      .thenMatches([{ type: 'ApprovalGranted' }]);
  });

  it('refuses an unknown or already decided approval', () => {
    spec
      .given(withApproval)
      .when({ ...decideApproval('approve', 2_000), approvalId: '00000000-0000-8000-8000-000000000000' })
      .thenThrows('NOT_FOUND');
    const granted = history(
      submit({ policy: approvalPolicy }),
      evaluate(1_000),
      decideApproval('approve', 2_000),
    );
    spec
      .given(granted)
      .when(decideApproval('reject', 3_000))
      .thenThrows('CONFLICT', /already granted/);
  });

  it('a rejection fails the step on the POLICY_DENIED path', () => {
    spec
      .given(withApproval)
      .when({ ...decideApproval('reject', 2_000), comment: 'too risky' })
      .thenMatches([
        { type: 'ApprovalRejected', data: { approvalId, comment: 'too risky' } },
        {
          type: 'StepCompleted',
          data: {
            outcome: 'failed',
            errorCode: 'POLICY_DENIED',
            reason: 'approval rejected by op-1: too risky',
          },
        },
        { type: 'RunCompleted', data: { status: 'policy_denied' } },
      ]);
  });

  it('expires when due, failing the run; not before', () => {
    const due = 1_000 + 24 * 3_600_000;
    spec
      .given(withApproval)
      .when({ type: 'ExpireApproval', now: at(due - 1) })
      .thenThrows('CONFLICT', /not due/);
    spec
      .given(withApproval)
      .when({ type: 'ExpireApproval', now: at(due) })
      .thenMatches([
        { type: 'ApprovalExpired', data: { approvalId, expiresAt: at(due), at: at(due) } },
        { type: 'StepCompleted', data: { outcome: 'failed', errorCode: 'TIMEOUT' } },
        { type: 'RunCompleted', data: { status: 'failed' } },
      ]);
    spec
      .given(withApproval)
      .when(decideApproval('approve', due))
      .thenThrows('CONFLICT', /expired/);
  });

  it('is refused when nothing awaits approval', () => {
    spec
      .given(submitted)
      .when({ type: 'ExpireApproval', now: at(1) })
      .thenThrows('CONFLICT');
  });

  it('a granted step is not asked again on retry', () => {
    const given = history(
      submit({ policy: approvalPolicy }),
      evaluate(1_000),
      decideApproval('approve', 2_000),
      start(3_000),
      fail(4_000, 'TIMEOUT'),
    );
    spec
      .given(given)
      .when(evaluate(60_000))
      .thenMatches([
        { type: 'PolicyDecided', data: { attempt: 2, result: 'allow', ruleId: 'approval.granted' } },
      ]);
  });
});

describe('attempts', () => {
  const allowed = history(submit(), evaluate(1_000));

  it('starts an attempt the policy allowed', () => {
    spec
      .given(allowed)
      .when(start(2_000, 'res-1', 21))
      .then([
        {
          type: 'SkillCallStarted',
          data: {
            runId: 'run-1',
            stepIndex: 0,
            attempt: 1,
            skill: 'llm_invoke',
            reservationId: 'res-1',
            reservedMicros: 21,
            estimateMicros: 21,
            at: at(2_000),
          },
        },
      ]);
  });

  it('refuses to start without a policy decision, while awaiting approval, or after a cancel', () => {
    spec
      .given(submitted)
      .when(start(2_000))
      .thenThrows('CONFLICT', /evaluate/);
    spec
      .given(withApproval)
      .when(start(2_000))
      .thenThrows('CONFLICT', /awaiting_approval/);
    const cancel = { type: 'RequestCancel' as const, actor: operator, reason: 'stop', now: at(1_500) };
    spec
      .given(history(submit(), evaluate(1_000), cancel))
      .when(start(2_000))
      .thenThrows('CONFLICT', /cancelled/);
  });

  it('a refused reservation ends the run budget_exceeded', () => {
    spec
      .given(allowed)
      .when({
        type: 'RecordBudgetRefused',
        reservationId: 'res-1',
        requestedMicros: 21,
        remainingMicros: 5,
        now: at(2_000),
      })
      .thenMatches([
        {
          type: 'BudgetExceeded',
          data: {
            scope: 'tenant_day',
            reservationId: 'res-1',
            requestedMicros: 21,
            remainingMicros: 5,
            stepIndex: 0,
            attempt: 1,
          },
        },
        { type: 'RunCompleted', data: { status: 'budget_exceeded', errorCode: 'BUDGET_EXCEEDED' } },
      ]);
  });

  it('a success records the output, charges the usage and completes the step', () => {
    spec
      .given(history(submit(), evaluate(1_000), start(2_000, 'res-1', 21)))
      .when(succeed(3_000, { text: 'summary' }))
      .then([
        {
          type: 'SkillCallSucceeded',
          data: {
            runId: 'run-1',
            stepIndex: 0,
            attempt: 1,
            output: { text: 'summary' },
            latencyMs: 100,
            at: at(3_000),
          },
        },
        {
          type: 'CostCharged',
          data: {
            runId: 'run-1',
            stepIndex: 0,
            attempt: 1,
            reservationId: 'res-1',
            usage: { model: 'stub', inputTokens: 1000, outputTokens: 500, cachedInputTokens: 2000 },
            estimateMicros: 21,
            computedMicros: 220,
            chargedMicros: 220,
            priceTableVersion: 'aos-default-1',
            priceTableHash: priceTableHash(defaultPriceTable),
            at: at(3_000),
          },
        },
        {
          type: 'StepCompleted',
          data: {
            runId: 'run-1',
            stepIndex: 0,
            outcome: 'succeeded',
            attempts: 1,
            output: { text: 'summary' },
            at: at(3_000),
          },
        },
      ]);
  });

  it('the last step succeeding completes the run', () => {
    const given = history(submit(), evaluate(1), start(2), succeed(3), evaluate(4), start(5, 'res-2', 0));
    const events = spec
      .given(given)
      .when(succeed(6, 1, { model: 'stub', inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 }))
      .thenMatches([
        { type: 'SkillCallSucceeded' },
        { type: 'StepCompleted', data: { stepIndex: 1, output: 1 } },
        {
          type: 'RunCompleted',
          data: { status: 'succeeded', reason: 'all steps succeeded', chargedMicros: 220 },
        },
      ]);
    expect(foldRun([...given, ...events]).status).toBe('succeeded');
  });

  it('charges the larger of the computed and provider-reported amounts, and records both', () => {
    spec
      .given(history(submit(), evaluate(1), start(2)))
      .when({
        type: 'RecordOutcome',
        outcome: {
          ok: true,
          output: 'x',
          usage: { model: 'stub', inputTokens: 1000, outputTokens: 500, cachedInputTokens: 2000 },
          providerCostMicros: 300,
        },
        latencyMs: 5,
        now: at(3),
      })
      .thenMatches([
        { type: 'SkillCallSucceeded' },
        { type: 'CostCharged', data: { computedMicros: 220, providerMicros: 300, chargedMicros: 300 } },
        { type: 'StepCompleted' },
      ]);
  });

  it('a retryable failure schedules a retry with the deterministic delay', () => {
    const delay = retryDelayMs(
      {
        maxAttempts: 3,
        initialDelayMs: 1000,
        backoffCoefficient: 2,
        maxDelayMs: 30000,
        jitterRatio: 0.1,
        nonRetryableCodes: [],
      },
      7,
      0,
      1,
    );
    const given = history(submit(), evaluate(1_000), start(2_000));
    const events = spec
      .given(given)
      .when(fail(3_000, 'TIMEOUT'))
      .then([
        {
          type: 'SkillCallFailed',
          data: {
            runId: 'run-1',
            stepIndex: 0,
            attempt: 1,
            errorCode: 'TIMEOUT',
            category: 'TRANSIENT',
            retryable: true,
            message: 'TIMEOUT happened',
            latencyMs: 100,
            at: at(3_000),
          },
        },
        {
          type: 'RetryScheduled',
          data: {
            runId: 'run-1',
            stepIndex: 0,
            attempt: 1,
            nextAttempt: 2,
            errorCode: 'TIMEOUT',
            delayMs: delay,
            dueAt: at(3_000 + delay),
            at: at(3_000),
          },
        },
      ]);
    expect(foldRun([...given, ...events]).status).toBe('retrying');
  });

  it('a failed attempt that consumed tokens is charged too', () => {
    spec
      .given(history(submit(), evaluate(1), start(2)))
      .when(
        fail(3, 'TIMEOUT', {
          usage: { model: 'stub', inputTokens: 10, outputTokens: 0, cachedInputTokens: 0 },
        }),
      )
      .thenMatches([
        { type: 'SkillCallFailed' },
        { type: 'CostCharged', data: { computedMicros: 1 } },
        { type: 'RetryScheduled' },
      ]);
  });

  it('honours a longer Retry-After', () => {
    spec
      .given(history(submit(), evaluate(1), start(2)))
      .when(fail(3, 'RATE_LIMITED', { retryAfterMs: 20_000 }))
      .thenMatches([
        { type: 'SkillCallFailed', data: { retryAfterMs: 20_000 } },
        { type: 'RetryScheduled', data: { delayMs: 20_000, dueAt: at(20_003) } },
      ]);
  });

  it('a non-retryable failure fails the step and the run', () => {
    spec
      .given(history(submit(), evaluate(1), start(2)))
      .when(fail(3, 'HTTP_4XX'))
      .thenMatches([
        { type: 'SkillCallFailed', data: { retryable: false, category: 'PERMANENT' } },
        {
          type: 'StepCompleted',
          data: { outcome: 'failed', attempts: 1, errorCode: 'HTTP_4XX', reason: 'HTTP_4XX happened' },
        },
        {
          type: 'RunCompleted',
          data: {
            status: 'failed',
            errorCode: 'HTTP_4XX',
            stepIndex: 0,
            reason: 'step 1 failed: HTTP_4XX happened',
          },
        },
      ]);
  });

  it('the last allowed attempt failing fails the step', () => {
    const given = history(
      submit(),
      ...[1, 2].flatMap((attempt) => [
        evaluate(attempt * 100_000),
        start(attempt * 100_000 + 1),
        fail(attempt * 100_000 + 2, 'HTTP_5XX'),
      ]),
      evaluate(300_000),
      start(300_001),
    );
    spec
      .given(given)
      .when(fail(300_002, 'HTTP_5XX'))
      .thenMatches([
        { type: 'SkillCallFailed', data: { attempt: 3 } },
        { type: 'StepCompleted', data: { attempts: 3, outcome: 'failed' } },
        { type: 'RunCompleted', data: { status: 'failed' } },
      ]);
  });

  it('a lost worker fails the in-flight attempt with WORKER_LOST and retries it', () => {
    spec
      .given(history(submit(), evaluate(1_000), start(2_000)))
      .when({ type: 'RecordWorkerLost', now: at(32_000) })
      .thenMatches([
        {
          type: 'SkillCallFailed',
          data: {
            errorCode: 'WORKER_LOST',
            retryable: true,
            message: WORKER_LOST_MESSAGE,
            latencyMs: 30_000,
            at: at(32_000),
          },
        },
        { type: 'RetryScheduled', data: { nextAttempt: 2 } },
      ]);
  });

  it('refuses an outcome or a lost worker when nothing is in flight, and a malformed outcome', () => {
    spec
      .given(history(submit(), evaluate(1)))
      .when(succeed(2))
      .thenThrows('CONFLICT', /record an outcome/);
    spec
      .given(submitted)
      .when({ type: 'RecordWorkerLost', now: at(2) })
      .thenThrows('CONFLICT');
    spec
      .given(history(submit(), evaluate(1), start(2)))
      .when(succeed(3, 'x', { model: 'stub', inputTokens: -1, outputTokens: 0, cachedInputTokens: 0 }))
      .thenThrows('INVALID_INPUT');
  });
});

describe('cancellation', () => {
  const cancel = (ms: number, actor = operator) => ({
    type: 'RequestCancel' as const,
    actor,
    reason: 'stop',
    now: at(ms),
  });

  it('records the request; it takes effect at the next boundary', () => {
    spec
      .given(history(submit(), evaluate(1), start(2)))
      .when(cancel(3))
      .then([
        { type: 'RunCancelRequested', data: { runId: 'run-1', actor: operator, reason: 'stop', at: at(3) } },
      ]);
    // The in-flight attempt still finishes; the next boundary ends the run.
    spec
      .given(history(submit(), evaluate(1), start(2), cancel(3), succeed(4)))
      .when(evaluate(5))
      .thenMatches([{ type: 'RunCompleted', data: { status: 'cancelled', chargedMicros: 220 } }]);
  });

  it('ends a run waiting for approval', () => {
    const given = history(submit({ policy: approvalPolicy }), evaluate(1_000), cancel(1_500));
    spec
      .given(given)
      .when(evaluate(1_600))
      .thenMatches([
        { type: 'ApprovalClosed', data: { approvalId, reason: 'run_cancelled' } },
        { type: 'RunCompleted', data: { status: 'cancelled' } },
      ]);
  });

  it('is idempotent, needs a role that may cancel, and is refused on an ended run', () => {
    spec
      .given(history(submit(), cancel(1)))
      .when(cancel(2))
      .thenNothing();
    spec.given(submitted).when(cancel(1, viewer)).thenThrows('PERMISSION_DENIED');
    spec
      .given(history(submit(), cancel(1), evaluate(2)))
      .when(cancel(3))
      .thenThrows('CONFLICT');
  });
});

describe('status derivation', () => {
  it('follows queued → running → retrying → running → succeeded from events alone', () => {
    const events = history(
      submit({ plan: { steps: [llmStep] } }),
      evaluate(1),
      start(2),
      fail(3, 'TIMEOUT'),
      evaluate(60_000),
      start(60_001),
      succeed(60_002),
    );
    const statuses: string[] = [];
    let state = foldRun([]);
    for (const event of events) {
      const next = foldRun([event], state);
      if (next.status !== state.status) statuses.push(next.status);
      state = next;
    }
    expect(statuses).toEqual(['queued', 'running', 'retrying', 'running', 'succeeded']);
  });
});
