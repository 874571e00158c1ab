// A goal's planning, in stream `goal-<runId>` before the run's own stream exists: what was
// asked, what the planner proposed (raw, with its prompt's hash), and the verdict. A rejected
// proposal is recorded with it (PlanRequested, PlanProposed, PlanRejected: one append). An
// acceptable one is recorded first without a verdict, then the run is submitted, and only
// then PlanAccepted: PlanAccepted always names a run that exists, and a goal retried after a
// crash in between reads the recorded proposal (never the planner) and converges on the run.
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

/** The planner's answer; `violations` when the sandbox refused it. */
export interface RecordPlanning {
  type: 'RecordPlanning';
  request: Requested;
  proposal: Proposed;
  violations?: PlanViolation[];
}

/** The run of the recorded proposal was submitted: the plan it was submitted with. */
export interface AcceptPlan {
  type: 'AcceptPlan';
  plan: PlanInput;
}

export type GoalCommand = RecordPlanning | AcceptPlan;

export interface GoalState {
  request: Requested | null;
  proposal: Proposed | null;
  plan: PlanInput | null;
  violations: PlanViolation[] | null;
}

export const goalStreamId = (runId: string) => `goal-${runId}`;

function decideAccept(state: GoalState, command: AcceptPlan): GoalEvent[] {
  if (!state.proposal || state.violations) {
    throw new DomainError('CONFLICT', 'only a recorded, unrejected proposal can be accepted');
  }
  if (state.plan) return [];
  return [{ type: 'PlanAccepted', data: { plan: command.plan } }];
}

export const goalDecider: Decider<GoalState, GoalCommand, GoalEvent> = {
  initialState: () => ({ request: null, proposal: null, plan: null, violations: null }),
  evolve(state, event) {
    if (event.type === 'PlanRequested') return { ...state, request: event.data };
    if (event.type === 'PlanProposed') return { ...state, proposal: event.data };
    if (event.type === 'PlanAccepted') return { ...state, plan: event.data.plan };
    if (event.type === 'PlanRejected') return { ...state, violations: event.data.violations };
    return state;
  },
  decide(command, state) {
    if (command.type === 'AcceptPlan') return decideAccept(state, command);
    // A goal is planned once: a retry with the same Idempotency-Key reads the record instead.
    if (state.request) throw new DomainError('CONFLICT', 'this goal was planned already');
    const planned: GoalEvent[] = [
      { type: 'PlanRequested', data: command.request },
      { type: 'PlanProposed', data: command.proposal },
    ];
    return command.violations
      ? [...planned, { type: 'PlanRejected', data: { violations: command.violations } }]
      : planned;
  },
};
