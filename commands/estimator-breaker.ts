// The drift breaker's stream (`estimator-breaker`, tenant `system`): its state, the basis
// budgets and simulate use, the signals that disable an estimator (canary, live divergence)
// and an operator's re-enable. Decided by domain/estimator-breaker.ts.
import { randomUUID } from 'node:crypto';
import { type Actor, SYSTEM_TENANT } from '../domain/actor.ts';
import {
  type BreakerEvent,
  type BreakerPolicy,
  type BreakerState,
  basisOf,
  breakerDecider,
  type DriftSignal,
} from '../domain/estimator-breaker.ts';
import type { EstimatorName } from '../domain/estimator-dataset.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { handleCommand, loadStream } from './handle-command.ts';
import { cachedReference, forgetReference } from './reference-cache.ts';

export const BREAKER_STREAM = 'estimator-breaker';

export async function breakerState(store: EventStore): Promise<BreakerState> {
  return (await loadStream(store, BREAKER_STREAM, breakerDecider)).state;
}

/** The estimator reservations and simulate rely on now, and why when it is not v2. */
export async function estimateBasis(store: EventStore) {
  return basisOf(await cachedReference(store, BREAKER_STREAM, () => breakerState(store)));
}

/** Applies drift signals under the policy; answers the events recorded (none when nothing changed). */
export async function applyDriftSignals(
  store: EventStore,
  signals: readonly DriftSignal[],
  policy: BreakerPolicy,
  context: { at: Date; commandId: string },
): Promise<BreakerEvent[]> {
  const handled = await handleCommand(
    store,
    BREAKER_STREAM,
    breakerDecider,
    { type: 'ApplySignals', signals, policy, at: context.at.toISOString() },
    { commandId: context.commandId, metadata: { tenantId: SYSTEM_TENANT, actor: 'system:breaker' } },
  );
  forgetReference(store, BREAKER_STREAM);
  return handled.alreadyApplied ? [] : handled.events;
}

export async function enableEstimator(
  store: EventStore,
  estimator: EstimatorName,
  reason: string,
  actor: Actor,
  at: Date,
) {
  const handled = await handleCommand(
    store,
    BREAKER_STREAM,
    breakerDecider,
    { type: 'Enable', estimator, reason, at: at.toISOString() },
    {
      commandId: `estimator-enable:${randomUUID()}`,
      metadata: { tenantId: SYSTEM_TENANT, actor: `${actor.role}:${actor.id}` },
    },
  );
  forgetReference(store, BREAKER_STREAM);
  return { changed: handled.events.length > 0, state: handled.state[estimator] };
}
