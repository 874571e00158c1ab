// A goal's planning, in stream `goal-<runId>` before the run's own stream exists: what was
// asked, what the planner proposed (raw, with its prompt's hash), and the sandbox's verdict.
// Replay and certification read the accepted plan from the run's RunSubmitted; nothing here
// is ever asked of a planner again.
import type { Decider } from '../decider.ts';
import { DomainError } from '../domain-error.ts';
import type { AgentEvent } from '../events/agent-events.ts';
import type { PlanInput } from '../plan/schema.ts';
import type { PlanViolation } from './sandbox.ts';

type GoalEvent = Exclude<AgentEvent, { type: 'AgentRegistered' }>;
type Requested = Extract<GoalEvent, { type: 'PlanRequested' }>['data'];
type Proposed = Extract<GoalEvent, { type: 'PlanProposed' }>['data'];

export interface RecordPlanning {
  type: 'RecordPlanning';
  request: Requested;
  proposal: Proposed;
  verdict: { plan: PlanInput } | { violations: PlanViolation[] };
}

export interface GoalState {
  request: Requested | null;
  plan: PlanInput | null;
  violations: PlanViolation[] | null;
}

export const goalStreamId = (runId: string) => `goal-${runId}`;

export const goalDecider: Decider<GoalState, RecordPlanning, GoalEvent> = {
  initialState: () => ({ request: null, plan: null, violations: null }),
  evolve(state, event) {
    if (event.type === 'PlanRequested') return { ...state, request: event.data };
    if (event.type === 'PlanAccepted') return { ...state, plan: event.data.plan };
    if (event.type === 'PlanRejected') return { ...state, violations: event.data.violations };
    return state;
  },
  decide(command, state) {
    // A goal is planned once: a retry with the same Idempotency-Key reads the record instead.
    if (state.request) throw new DomainError('CONFLICT', 'this goal was planned already');
    const verdict: GoalEvent =
      'plan' in command.verdict
        ? { type: 'PlanAccepted', data: { plan: command.verdict.plan } }
        : { type: 'PlanRejected', data: { violations: command.verdict.violations } };
    return [
      { type: 'PlanRequested', data: command.request },
      { type: 'PlanProposed', data: command.proposal },
      verdict,
    ];
  },
};
