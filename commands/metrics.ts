// The metrics port: what commands and the executor report. Most of it is derived from the
// events a command recorded (`reportRunEvents`), so the numbers say what the log says.
// The default does nothing; infra/metrics implements it with prom-client.
import type { RunEvent } from '../domain/events/run-events.ts';
import type { RunState } from '../domain/run/decider.ts';

/** How a command ended: recorded, a retry of one already recorded, no change, or why it failed. */
export type CommandOutcome = 'recorded' | 'duplicate' | 'noop' | 'conflict' | 'error' | (string & {});

export interface CommandMetrics {
  commandHandled(type: string, outcome: CommandOutcome): void;
  /** One event-store append, with how long it took and whether it committed. */
  appendObserved(seconds: number, outcome: 'ok' | 'error'): void;
  skillCalled(skill: string): void;
  /** An attempt's outcome: null error code when it succeeded. */
  skillAttempt(skill: string, errorCode: string | null): void;
  retryScheduled(skill: string, errorCode: string): void;
  costCharged(tenant: string, skill: string, model: string, micros: number): void;
  budgetRefused(tenant: string, scope: string): void;
  policyDecided(result: string): void;
  runCompleted(status: string): void;
  /** A circuit breaker changed state (domain/breaker/decider.ts). */
  breakerChanged(tenant: string, target: string, status: 'closed' | 'open' | 'half_open'): void;
}

export const noopMetrics: CommandMetrics = {
  commandHandled() {},
  appendObserved() {},
  skillCalled() {},
  skillAttempt() {},
  retryScheduled() {},
  costCharged() {},
  budgetRefused() {},
  policyDecided() {},
  runCompleted() {},
  breakerChanged() {},
};

/**
 * Reports what a run command recorded. `state` is the run after the events (it names each
 * step's skill and estimated model). Call it only for events written now, not for a retried
 * command's earlier events, or they would count twice.
 */
export function reportRunEvents(
  metrics: CommandMetrics,
  tenantId: string,
  state: RunState,
  events: readonly RunEvent[],
): void {
  if (state.status === 'none') return;
  const skillOf = (stepIndex: number) => state.submission.plan.steps[stepIndex]?.skill ?? 'unknown';
  for (const event of events) {
    switch (event.type) {
      case 'SkillCallStarted':
        metrics.skillCalled(event.data.skill);
        break;
      case 'SkillCallSucceeded':
        metrics.skillAttempt(skillOf(event.data.stepIndex), null);
        break;
      case 'SkillCallFailed':
        metrics.skillAttempt(skillOf(event.data.stepIndex), event.data.errorCode);
        break;
      case 'RetryScheduled':
        metrics.retryScheduled(skillOf(event.data.stepIndex), event.data.errorCode);
        break;
      case 'CostCharged': {
        const model =
          event.data.usage?.model ?? state.estimates?.v2.steps[event.data.stepIndex]?.model ?? 'none';
        metrics.costCharged(tenantId, skillOf(event.data.stepIndex), model, event.data.chargedMicros);
        break;
      }
      case 'BudgetExceeded':
        metrics.budgetRefused(tenantId, event.data.scope);
        break;
      case 'PolicyDecided':
        metrics.policyDecided(event.data.result);
        break;
      case 'RunCompleted':
        metrics.runCompleted(event.data.status);
        break;
    }
  }
}
