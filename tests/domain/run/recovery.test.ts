// Failure as data in the run decider: every failed attempt recorded with a catalog is
// classified (FailureClassified in the same command), the catalog's retry word wins over the
// taxonomy's, a recovery is suggested and waits for an operator (or is applied at once when
// automatic), an accepted fallback_model makes the next attempt call the other model, and a
// rejected one proceeds as the failure would have without it. Every history certifies.
import { describe, expect, it } from 'vitest';
import type { CatalogEntry, FailureCatalog, HashedFailureCatalog } from '../../../domain/failure-catalog.ts';
import { withFailureCatalogHash } from '../../../domain/failure-catalog.ts';
import { defaultFailureCatalog } from '../../../domain/failure-catalog-default.ts';
import { certifyRun } from '../../../domain/run/certify.ts';
import type { RunCommand } from '../../../domain/run/commands.ts';
import { nextAction } from '../../../domain/run/next-action.ts';
import { recoveryIdFor } from '../../../domain/run/recovery.ts';
import { foldRun } from '../../../domain/run/state.ts';
import { at, evaluate, history, operator, spec, start, submit, succeed, viewer } from './fixtures.ts';

const fallback: CatalogEntry = {
  id: 'llm.overloaded',
  match: { errorCode: 'HTTP_5XX', skill: 'llm_invoke', messagePattern: 'overloaded' },
  category: 'TRANSIENT',
  retry: false,
  recovery: { mode: 'fallback_model', params: { model: 'cheap-model' } },
  confidence: 0.75,
  automatic: false,
};
const catalogOf = (...entries: CatalogEntry[]): HashedFailureCatalog =>
  withFailureCatalogHash({
    version: 'test-1',
    entries: [...entries, ...defaultFailureCatalog.entries],
  } as FailureCatalog);
const catalog = catalogOf(fallback);
const automaticCatalog = catalogOf({ ...fallback, automatic: true });

const llmOnly = submit({
  plan: { steps: [{ skill: 'llm_invoke', input: { model: 'primary-model', prompt: 'Hi', maxTokens: 50 } }] },
});
const failWith = (ms: number, message: string, failureCatalog = catalog): RunCommand => ({
  type: 'RecordOutcome',
  outcome: { ok: false, errorCode: 'HTTP_5XX', message, httpStatus: 503 },
  latencyMs: 20,
  failureCatalog,
  now: at(ms),
});
const started = history(llmOnly, evaluate(1), start(2));
const recoveryId = recoveryIdFor('run-1', 0, 1);

describe('failure classification', () => {
  it('records FailureClassified with the attempt; the catalog says retry, so it is retried', () => {
    const events = spec
      .given(started)
      .when(failWith(3, 'upstream hiccup'))
      .thenMatches([
        { type: 'SkillCallFailed', data: { errorCode: 'HTTP_5XX', httpStatus: 503 } },
        {
          type: 'FailureClassified',
          data: {
            catalogVersion: 'test-1',
            catalogHash: catalog.hash,
            entry: expect.objectContaining({ id: 'http_5xx' }),
            retry: true,
            recovery: { mode: 'retry_later', params: {} },
          },
        },
        { type: 'RetryScheduled', data: { nextAttempt: 2 } },
      ]);
    expect(certifyRun([...started, ...events])).toMatchObject({ certified: true });
  });

  it("the catalog's retry wins over the taxonomy: an entry saying no retry fails the step", () => {
    const noRetry = catalogOf({
      ...fallback,
      id: 'no-retry',
      match: { errorCode: 'HTTP_5XX' },
      recovery: { mode: 'abort', params: {} },
    });
    const events = spec
      .given(started)
      .when(failWith(3, 'anything', noRetry))
      .thenMatches([
        { type: 'SkillCallFailed' },
        { type: 'FailureClassified', data: { retry: false, recovery: { mode: 'abort' } } },
        { type: 'StepCompleted', data: { outcome: 'failed' } },
        { type: 'RunCompleted', data: { status: 'failed' } },
      ]);
    expect(certifyRun([...started, ...events])).toMatchObject({ certified: true });
  });

  it('an outcome recorded without a catalog (runs recorded before it) is decided by the taxonomy alone', () => {
    spec
      .given(started)
      .when({ ...failWith(3, 'x'), failureCatalog: undefined } as RunCommand)
      .thenMatches([{ type: 'SkillCallFailed' }, { type: 'RetryScheduled' }]);
  });
});

describe('recovery suggestions', () => {
  const afterFailure = history(llmOnly, evaluate(1), start(2), failWith(3, 'model overloaded'));

  it('suggests fallback_model and holds the step until an operator decides', () => {
    spec
      .given(started)
      .when(failWith(3, 'model overloaded'))
      .thenMatches([
        { type: 'SkillCallFailed' },
        { type: 'FailureClassified', data: { entry: expect.objectContaining({ id: 'llm.overloaded' }) } },
        {
          type: 'RecoverySuggested',
          data: {
            recoveryId,
            recovery: { mode: 'fallback_model', params: { model: 'cheap-model' } },
            change: { model: 'cheap-model' },
            automatic: false,
            confidence: 0.75,
          },
        },
      ]);
    const state = foldRun(afterFailure);
    expect(nextAction(state, at(10))).toMatchObject({ kind: 'await_recovery', recoveryId });
  });

  it('an accepted fallback_model retries the step with the other model', () => {
    const accept: RunCommand = {
      type: 'DecideRecovery',
      recoveryId,
      decision: 'accept',
      actor: operator,
      now: at(5),
    };
    spec
      .given(afterFailure)
      .when(accept)
      .thenMatches([
        { type: 'RecoveryDecided', data: { decision: 'accepted', actor: operator } },
        {
          type: 'RecoveryApplied',
          data: { by: 'operator', change: { model: 'cheap-model' }, nextAttempt: 2 },
        },
      ]);
    const full = history(
      llmOnly,
      evaluate(1),
      start(2),
      failWith(3, 'model overloaded'),
      accept,
      evaluate(6),
      start(7, 'res-2'),
      succeed(8, 'done', { model: 'cheap-model', inputTokens: 10, outputTokens: 5, cachedInputTokens: 0 }),
    );
    const call = full.find((e) => e.type === 'SkillCallStarted' && e.data.attempt === 2);
    expect(call?.data).toMatchObject({ input: { model: 'cheap-model' } });
    expect(full.at(-1)).toMatchObject({ type: 'RunCompleted', data: { status: 'succeeded' } });
    expect(certifyRun(full)).toMatchObject({ certified: true });
  });

  it('the next attempt after an accepted fallback is called with the other model', () => {
    const accepted: RunCommand[] = [
      llmOnly,
      evaluate(1),
      start(2),
      failWith(3, 'model overloaded'),
      { type: 'DecideRecovery', recoveryId, decision: 'accept', actor: operator, now: at(5) },
      evaluate(6),
    ];
    expect(nextAction(foldRun(history(...accepted)), at(7))).toMatchObject({
      kind: 'reserve',
      model: 'cheap-model',
    });
    const called = foldRun(history(...accepted, start(7, 'res-2')));
    expect(nextAction(called, at(8))).toMatchObject({ kind: 'call', input: { model: 'cheap-model' } });
  });

  it('a rejected recovery proceeds as the failure would have: here the step fails', () => {
    const events = spec
      .given(afterFailure)
      .when({ type: 'DecideRecovery', recoveryId, decision: 'reject', actor: operator, now: at(5) })
      .thenMatches([
        { type: 'RecoveryDecided', data: { decision: 'rejected' } },
        { type: 'StepCompleted', data: { outcome: 'failed', errorCode: 'HTTP_5XX' } },
        { type: 'RunCompleted', data: { status: 'failed' } },
      ]);
    expect(certifyRun([...afterFailure, ...events])).toMatchObject({ certified: true });
  });

  it('only operators and admins decide; a recovery is decided once', () => {
    spec
      .given(afterFailure)
      .when({ type: 'DecideRecovery', recoveryId, decision: 'accept', actor: viewer, now: at(5) })
      .thenThrows('PERMISSION_DENIED');
    const decided = history(llmOnly, evaluate(1), start(2), failWith(3, 'model overloaded'), {
      type: 'DecideRecovery',
      recoveryId,
      decision: 'reject',
      actor: operator,
      now: at(5),
    });
    expect(decided.at(-1)).toMatchObject({ type: 'RunCompleted' });
    spec
      .given(afterFailure)
      .when({
        type: 'DecideRecovery',
        recoveryId: recoveryIdFor('run-1', 0, 9),
        decision: 'accept',
        actor: operator,
        now: at(5),
      })
      .thenThrows('NOT_FOUND');
  });

  it('an automatic recovery is applied at once, still recorded', () => {
    const events = spec
      .given(started)
      .when(failWith(3, 'model overloaded', automaticCatalog))
      .thenMatches([
        { type: 'SkillCallFailed' },
        { type: 'FailureClassified', data: { automatic: true } },
        { type: 'RecoverySuggested', data: { automatic: true } },
        {
          type: 'RecoveryApplied',
          data: { by: 'automatic', change: { model: 'cheap-model' }, nextAttempt: 2 },
        },
      ]);
    expect(certifyRun([...started, ...events])).toMatchObject({ certified: true });
  });

  it('no recovery that changes nothing: a fallback to the model in use fails as the entry says', () => {
    const onCheap = submit({
      plan: { steps: [{ skill: 'llm_invoke', input: { model: 'cheap-model', prompt: 'Hi' } }] },
    });
    spec
      .given(history(onCheap, evaluate(1), start(2)))
      .when(failWith(3, 'model overloaded'))
      .thenMatches([
        { type: 'SkillCallFailed' },
        { type: 'FailureClassified' },
        { type: 'StepCompleted', data: { outcome: 'failed' } },
        { type: 'RunCompleted' },
      ]);
  });

  it('a cancel ends a run waiting for a recovery decision', () => {
    const cancelled = history(
      llmOnly,
      evaluate(1),
      start(2),
      failWith(3, 'model overloaded'),
      { type: 'RequestCancel', actor: operator, reason: 'enough', now: at(4) },
      evaluate(5),
    );
    expect(cancelled.at(-1)).toMatchObject({ type: 'RunCompleted', data: { status: 'cancelled' } });
    expect(certifyRun(cancelled)).toMatchObject({ certified: true });
  });
});
