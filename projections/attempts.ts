// attempts: every call a run tried — and every call refused before it started (a policy denial,
// a budget refusal) — one row each, with its skill, the hash of its input, how it ended and
// when: what `what_did_i_try_already` answers an agent, for a run or across its runs.
import { errorCodes } from '../domain/errors.ts';
import type { RunEventData } from '../domain/events/run-events.ts';
import { canonicalHash } from '../domain/hashing.ts';
import { normalizedSteps } from '../domain/plan/graph.ts';
import type { ProjectedEvent, Projection, RowValues } from './projection.ts';
import { attemptKeyOf, runKeyOf } from './run-steps.ts';

interface PlannedCall {
  skill: string;
  /** The input as the plan wrote it (references unresolved), hashed. */
  inputHash: string;
}

interface PlannedStep extends PlannedCall {
  id: string;
  compensation: PlannedCall | null;
}

export interface RunAttempts {
  agentId: string;
  steps: PlannedStep[];
  /** Attempts started and not yet ended, by attemptKeyOf: the row written when each ends. */
  open: Record<string, RowValues>;
}

type Outcome = 'running' | 'succeeded' | 'failed' | 'denied' | 'refused';

function plannedSteps(plan: RunEventData<'RunSubmitted'>['plan']): PlannedStep[] {
  return normalizedSteps(plan.steps).map((step) => ({
    id: step.id,
    skill: step.skill,
    inputHash: canonicalHash(step.input),
    compensation: step.compensate
      ? { skill: step.compensate.skill, inputHash: canonicalHash(step.compensate.input) }
      : null,
  }));
}

function rowOf(
  state: RunAttempts,
  event: ProjectedEvent,
  at: { stepIndex: number; attempt: number; compensation: boolean },
  values: RowValues,
) {
  const step = state.steps[at.stepIndex];
  const planned = at.compensation ? step?.compensation : step;
  return {
    table: 'rm_attempts',
    kind: 'upsert' as const,
    key: {
      run_id: (event.data as { runId: string }).runId,
      step_index: at.stepIndex,
      attempt: at.attempt,
      compensation: at.compensation,
    },
    values: {
      tenant_id: event.metadata.tenantId,
      agent_id: state.agentId,
      step_id: step?.id ?? String(at.stepIndex),
      skill: planned?.skill ?? 'unknown',
      skill_version: null,
      input_hash: planned?.inputHash ?? null,
      outcome: 'running' satisfies Outcome,
      error_code: null,
      category: null,
      retryable: null,
      message: null,
      started_at: null,
      ended_at: null,
      ...values,
    },
  };
}

/** A call that never started: decided against before it was made. */
function refused(
  state: RunAttempts,
  event: ProjectedEvent,
  outcome: Outcome,
  code: 'POLICY_DENIED' | 'BUDGET_EXCEEDED',
  message: string,
  at: string,
) {
  const { stepIndex, attempt } = event.data as { stepIndex: number; attempt: number };
  const { category, retryable } = errorCodes[code];
  return rowOf(
    state,
    event,
    { stepIndex, attempt, compensation: false },
    {
      outcome,
      error_code: code,
      category,
      retryable,
      message,
      started_at: at,
      ended_at: at,
    },
  );
}

export const attemptsProjection: Projection<RunAttempts | null> = {
  name: 'attempts',
  version: 1,
  tables: [
    {
      name: 'rm_attempts',
      keyColumns: ['run_id', 'step_index', 'attempt', 'compensation'],
      columns: [
        'tenant_id',
        'agent_id',
        'step_id',
        'skill',
        'skill_version',
        'input_hash',
        'outcome',
        'error_code',
        'category',
        'retryable',
        'message',
        'started_at',
        'ended_at',
      ],
    },
  ],
  eventTypes: [
    'RunSubmitted',
    'PolicyDecided',
    'BudgetExceeded',
    'SkillCallStarted',
    'SkillCallSucceeded',
    'SkillCallFailed',
  ],
  keyOf: runKeyOf,
  initialState: () => null,
  apply(state, event) {
    if (event.type === 'RunSubmitted') {
      const data = event.data as RunEventData<'RunSubmitted'>;
      return { state: { agentId: data.agentId, steps: plannedSteps(data.plan), open: {} }, changes: [] };
    }
    if (!state) return { state, changes: [] };
    switch (event.type) {
      case 'PolicyDecided': {
        const data = event.data as RunEventData<'PolicyDecided'>;
        if (data.result !== 'deny') return { state, changes: [] };
        return { state, changes: [refused(state, event, 'denied', 'POLICY_DENIED', data.reason, data.at)] };
      }
      case 'BudgetExceeded': {
        const data = event.data as RunEventData<'BudgetExceeded'>;
        const message = `${data.scope} budget: ${data.requestedMicros} micros asked, ${data.remainingMicros} remain`;
        return { state, changes: [refused(state, event, 'refused', 'BUDGET_EXCEEDED', message, data.at)] };
      }
      case 'SkillCallStarted': {
        const data = event.data as RunEventData<'SkillCallStarted'>;
        const at = {
          stepIndex: data.stepIndex,
          attempt: data.attempt,
          compensation: data.compensation === true,
        };
        const change = rowOf(state, event, at, {
          skill: data.skill,
          skill_version: data.skillVersion ?? null,
          ...(data.inputHash ? { input_hash: data.inputHash } : {}),
          started_at: data.at,
        });
        const key = attemptKeyOf(at);
        return { state: { ...state, open: { ...state.open, [key]: change.values } }, changes: [change] };
      }
      default: {
        const data = event.data as RunEventData<'SkillCallSucceeded'> &
          Partial<RunEventData<'SkillCallFailed'>>;
        const at = {
          stepIndex: data.stepIndex,
          attempt: data.attempt,
          compensation: data.compensation === true,
        };
        const key = attemptKeyOf(at);
        const { [key]: started, ...open } = state.open;
        const failure =
          event.type === 'SkillCallFailed'
            ? {
                error_code: data.errorCode,
                category: data.category,
                retryable: data.retryable,
                message: data.message,
              }
            : {};
        const change = rowOf(state, event, at, {
          ...started,
          outcome: (event.type === 'SkillCallFailed' ? 'failed' : 'succeeded') satisfies Outcome,
          ...failure,
          ended_at: data.at,
        });
        return { state: { ...state, open }, changes: [change] };
      }
    }
  },
};
