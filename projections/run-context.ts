// run-context: what a run's agent asks about it while it runs — its budget (the cap, what was
// charged, what is held by calls in flight) and how its last step ended — one row per run,
// so `remaining_budget` and `last_step_outcome` read one row (or an agent's latest).
import type { RunEventData } from '../domain/events/run-events.ts';
import { normalizedSteps } from '../domain/plan/graph.ts';
import { type RunStatus, statusAfter } from '../domain/run/status.ts';
import type { ProjectedEvent, Projection } from './projection.ts';
import { shownValue } from './run-detail.ts';
import { attemptKeyOf, runKeyOf } from './run-steps.ts';

export interface LastStepOutcome {
  stepIndex: number;
  stepId: string;
  skill: string;
  outcome: 'succeeded' | 'failed' | 'skipped' | 'compensated' | 'compensation_failed';
  attempts: number;
  errorCode: string | null;
  reason: string | null;
  output: ReturnType<typeof shownValue> | null;
  at: string;
}

export interface RunContext {
  runId: string;
  agentId: string;
  status: RunStatus;
  steps: Array<{ id: string; skill: string }>;
  maxCostMicros: number;
  chargedMicros: number;
  /** What each call in flight reserved, by `stepIndex:attempt[:c]`, until it ends. */
  inFlight: Record<string, number>;
  lastStep: LastStepOutcome | null;
  updatedAt: string;
}

function lastStepOf(state: RunContext, event: ProjectedEvent): LastStepOutcome | null {
  const data = event.data as {
    stepIndex: number;
    at: string;
    outcome?: 'succeeded' | 'failed';
    attempts?: number;
    errorCode?: string;
    reason?: string;
    output?: unknown;
  };
  const step = state.steps[data.stepIndex];
  const outcome: LastStepOutcome['outcome'] | null =
    event.type === 'StepCompleted'
      ? data.outcome!
      : event.type === 'StepSkipped'
        ? 'skipped'
        : event.type === 'StepCompensated'
          ? data.outcome === 'succeeded'
            ? 'compensated'
            : 'compensation_failed'
          : null;
  if (!outcome) return state.lastStep;
  return {
    stepIndex: data.stepIndex,
    stepId: step?.id ?? String(data.stepIndex),
    skill: step?.skill ?? 'unknown',
    outcome,
    attempts: data.attempts ?? 0,
    errorCode: data.errorCode ?? null,
    reason: data.reason ?? null,
    output: event.type === 'StepCompleted' && data.output !== undefined ? shownValue(data.output) : null,
    at: data.at,
  };
}

function evolve(state: RunContext, event: ProjectedEvent): RunContext {
  const at = (event.data as { at?: string }).at ?? state.updatedAt;
  const next = { ...state, status: statusAfter(state.status, event) ?? state.status, updatedAt: at };
  switch (event.type) {
    case 'SkillCallStarted': {
      const data = event.data as RunEventData<'SkillCallStarted'>;
      return { ...next, inFlight: { ...state.inFlight, [attemptKeyOf(data)]: data.reservedMicros } };
    }
    case 'SkillCallSucceeded':
    case 'SkillCallFailed': {
      const { [attemptKeyOf(event.data as RunEventData<'SkillCallFailed'>)]: _ended, ...inFlight } =
        state.inFlight;
      return { ...next, inFlight };
    }
    case 'CostCharged':
      return {
        ...next,
        chargedMicros: state.chargedMicros + (event.data as RunEventData<'CostCharged'>).chargedMicros,
      };
    default:
      return { ...next, lastStep: lastStepOf(state, event) };
  }
}

export const runContextProjection: Projection<RunContext | null> = {
  name: 'run-context',
  version: 1,
  tables: [
    {
      name: 'rm_run_context',
      keyColumns: ['run_id'],
      columns: [
        'tenant_id',
        'agent_id',
        'status',
        'max_cost_micros',
        'charged_micros',
        'in_flight_micros',
        'last_step',
        'last_step_at',
        'updated_at',
      ],
    },
  ],
  eventTypes: [
    'RunSubmitted',
    'PolicyDecided',
    'ApprovalRequested',
    'ApprovalGranted',
    'RetryScheduled',
    'SkillCallStarted',
    'SkillCallSucceeded',
    'SkillCallFailed',
    'CostCharged',
    'StepCompleted',
    'StepSkipped',
    'StepCompensated',
    'RunCompleted',
  ],
  keyOf: runKeyOf,
  initialState: () => null,
  apply(previous, event) {
    let state: RunContext | null;
    if (event.type === 'RunSubmitted') {
      const data = event.data as RunEventData<'RunSubmitted'>;
      state = {
        runId: data.runId,
        agentId: data.agentId,
        status: 'queued',
        steps: normalizedSteps(data.plan.steps).map((step) => ({ id: step.id, skill: step.skill })),
        maxCostMicros: data.budget.maxCostMicros,
        chargedMicros: 0,
        inFlight: {},
        lastStep: null,
        updatedAt: data.at,
      };
    } else {
      if (!previous) return { state: previous, changes: [] };
      state = evolve(previous, event);
    }
    return {
      state,
      changes: [
        {
          table: 'rm_run_context',
          kind: 'upsert',
          key: { run_id: state.runId },
          values: {
            tenant_id: event.metadata.tenantId,
            agent_id: state.agentId,
            status: state.status,
            max_cost_micros: state.maxCostMicros,
            charged_micros: state.chargedMicros,
            in_flight_micros: Object.values(state.inFlight).reduce((sum, micros) => sum + micros, 0),
            last_step: state.lastStep,
            last_step_at: state.lastStep?.at ?? null,
            updated_at: state.updatedAt,
          },
        },
      ],
    };
  },
};
