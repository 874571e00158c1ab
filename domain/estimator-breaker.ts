// The drift breaker (issue 18, item 4): takes a drifting estimator out of service so that
// budget reservations and simulate rely on the other one, until an operator puts it back
// (EstimatorEnabled, source operator) or, when the installation allows auto-recovery, a later
// canary finds it sound again (source canary). One stream, `estimator-breaker`.
//
// A signal (a canary's severities, or the live divergence report's) disables an estimator
// that is in service when its severity reaches the installation's minimum. v2 is the estimate
// of record; with v2 out, v1 is the basis; with both out, v2 stays the basis (an estimate is
// needed to reserve at all) and every answer says that both are disabled.
import type { Decider } from './decider.ts';
import { type Severity, severityRank } from './estimator-canary.ts';
import type { EstimatorName } from './estimator-dataset.ts';
import type { AosEventData } from './events/catalog.ts';

export type BreakerEvent =
  | { type: 'EstimatorDisabled'; data: AosEventData<'EstimatorDisabled'> }
  | { type: 'EstimatorEnabled'; data: AosEventData<'EstimatorEnabled'> };

export interface EstimatorState {
  enabled: boolean;
  since: string | null;
  reason: string | null;
  severity: Severity | null;
}
export type BreakerState = Record<EstimatorName, EstimatorState>;

export interface BreakerPolicy {
  /** The least severity that disables an estimator. */
  minSeverity: Severity;
  /** Whether a canary that finds a disabled estimator sound puts it back. */
  autoRecovery: boolean;
}

export interface DriftSignal {
  source: 'canary' | 'divergence';
  estimator: EstimatorName;
  /** null: sound (may recover it, for a canary). */
  severity: Severity | null;
  reason: string;
  metrics: Record<string, number>;
}

export type BreakerCommand =
  | { type: 'ApplySignals'; signals: readonly DriftSignal[]; policy: BreakerPolicy; at: string }
  | { type: 'Enable'; estimator: EstimatorName; reason: string; at: string };

const inService: EstimatorState = { enabled: true, since: null, reason: null, severity: null };

export const breakerDecider: Decider<BreakerState, BreakerCommand, BreakerEvent> = {
  initialState: () => ({ v1: inService, v2: inService }),
  evolve: (state, event) => ({
    ...state,
    [event.data.estimator]:
      event.type === 'EstimatorDisabled'
        ? { enabled: false, since: event.data.at, reason: event.data.reason, severity: event.data.severity }
        : { enabled: true, since: event.data.at, reason: event.data.reason, severity: null },
  }),
  decide: (command, state) => {
    if (command.type === 'Enable') {
      if (state[command.estimator].enabled) return [];
      return [
        {
          type: 'EstimatorEnabled',
          data: { estimator: command.estimator, reason: command.reason, source: 'operator', at: command.at },
        },
      ];
    }
    const events: BreakerEvent[] = [];
    const { policy, at } = command;
    for (const signal of command.signals) {
      const current = state[signal.estimator];
      if (current.enabled && severityRank(signal.severity) >= severityRank(policy.minSeverity)) {
        events.push({
          type: 'EstimatorDisabled',
          data: {
            estimator: signal.estimator,
            reason: signal.reason,
            source: signal.source,
            severity: signal.severity!,
            metrics: signal.metrics,
            at,
          },
        });
      } else if (
        !current.enabled &&
        signal.source === 'canary' &&
        signal.severity === null &&
        policy.autoRecovery
      ) {
        events.push({
          type: 'EstimatorEnabled',
          data: { estimator: signal.estimator, reason: signal.reason, source: 'canary', at },
        });
      }
    }
    return events;
  },
};

export interface Basis {
  estimator: EstimatorName;
  /** Why it is not v2, or that both are out; absent when v2 is in service. */
  note?: string;
}

/** The estimator budgets and simulate rely on now. */
export function basisOf(state: BreakerState): Basis {
  if (state.v2.enabled) return { estimator: 'v2' };
  if (state.v1.enabled)
    return { estimator: 'v1', note: `v2 is disabled by the drift breaker: ${state.v2.reason}` };
  return {
    estimator: 'v2',
    note: 'both estimators are disabled by the drift breaker; v2 is used as the last resort',
  };
}
