// status_history: one row per status transition of a run, an approval or a tenant budget
// day, in the original AOS's columns, sequenced per entity (1, 2, …).
import { ledgerDayId } from '../domain/budget/ledger.ts';
import { deterministicUuid } from '../domain/hashing.ts';
import { statusAfter } from '../domain/run/status.ts';
import { actorOf } from './actor.ts';
import type { ProjectedEvent, Projection, RowChange } from './projection.ts';

interface EntityState {
  status: string | null;
  sequence: number;
  /** Budget days only: committed (reserved + settled) and the day's limit. */
  committedMicros?: number;
  limitMicros?: number;
}

export const statusHistoryColumns = [
  'id',
  'entity_type',
  'entity_id',
  'old_status',
  'new_status',
  'actor_type',
  'actor_id',
  'reason',
  'tenant_id',
  'correlation_id',
  'metadata',
  'created_at',
  'sequence',
  'global_position',
  'event_id',
] as const;

const runEventTypes = [
  'RunSubmitted',
  'PolicyDecided',
  'SkillCallStarted',
  'ApprovalGranted',
  'ApprovalRequested',
  'RetryScheduled',
  'RunPaused',
  'RunResumed',
  'RunCompleted',
];
const approvalStatus: Record<string, string> = {
  ApprovalRequested: 'pending',
  ApprovalGranted: 'approved',
  ApprovalRejected: 'rejected',
  ApprovalExpired: 'expired',
  ApprovalClosed: 'closed',
};
const budgetEventTypes = ['BudgetReserved', 'BudgetSettled', 'BudgetReleased'];

/** The fields of the entity events this projection reads (each event has some of them). */
interface Data {
  runId: string;
  approvalId: string;
  reason?: unknown;
  limitMicros?: number;
  amountMicros: number;
  actualMicros: number;
  reservedMicros: number;
  errorCode?: string;
  nextAttempt?: number;
  dueAt?: string;
  stopTenantId?: string | null;
  stoppedAt?: string;
  result?: string;
  ruleId?: string;
}

function entityOf(event: ProjectedEvent): { type: 'run' | 'approval' | 'budget_day'; id: string } | null {
  const data = event.data as Data;
  if (event.type in approvalStatus) return { type: 'approval', id: data.approvalId };
  if (runEventTypes.includes(event.type)) return { type: 'run', id: data.runId };
  // A run's ledger (`…:<runId>`) is part of its day: the entity is the day.
  if (budgetEventTypes.includes(event.type)) return { type: 'budget_day', id: ledgerDayId(event.streamId) };
  return null;
}

function nextStatus(
  state: EntityState,
  event: ProjectedEvent,
  type: string,
): { status: string; state: EntityState } {
  const data = event.data as Data;
  if (type === 'approval') return { status: approvalStatus[event.type]!, state };
  if (type === 'run') {
    return {
      status: statusAfter((state.status ?? undefined) as never, event) ?? state.status ?? 'queued',
      state,
    };
  }
  const limitMicros = data.limitMicros ?? state.limitMicros ?? Number.POSITIVE_INFINITY;
  const delta =
    event.type === 'BudgetReserved'
      ? data.amountMicros
      : event.type === 'BudgetSettled'
        ? data.actualMicros - data.reservedMicros
        : -data.amountMicros;
  const committedMicros = (state.committedMicros ?? 0) + delta;
  return {
    status: committedMicros >= limitMicros ? 'exhausted' : 'open',
    state: { ...state, committedMicros, limitMicros },
  };
}

function reasonOf(event: ProjectedEvent): string | null {
  const data = event.data as Data;
  if (typeof data.reason === 'string') return data.reason;
  if (event.type === 'RetryScheduled')
    return `${data.errorCode}; attempt ${data.nextAttempt} due ${data.dueAt}`;
  if (event.type === 'PolicyDecided') return `${data.result} by ${data.ruleId}`;
  if (event.type === 'RunPaused')
    return `emergency stop of ${data.stopTenantId ?? 'every tenant'} since ${data.stoppedAt}`;
  return event.type;
}

/**
 * Why a run entered `to`. Entering "running" is the executor starting (or resuming) work,
 * whatever event showed it first: the policy decision's own text explains the verdict (in
 * rm_policy_decisions), not the status change.
 */
function runReason(event: ProjectedEvent, from: string | null, to: string): string | null {
  if (event.type === 'RunSubmitted') return 'submitted';
  if (to === 'running') {
    if (event.type === 'ApprovalGranted') return 'approval granted: resumed';
    if (event.type === 'RunResumed') return 'emergency stop lifted: resumed';
    return from === 'retrying' ? 'retry started' : 'started';
  }
  return reasonOf(event);
}

export const statusHistoryProjection: Projection<EntityState> = {
  name: 'status_history',
  // 2: reasons of the run's submitted and running rows are the transition's, not the policy's.
  version: 2,
  tables: [{ name: 'rm_status_history', keyColumns: ['id'], columns: statusHistoryColumns.slice(1) }],
  eventTypes: [...new Set([...runEventTypes, ...Object.keys(approvalStatus), ...budgetEventTypes])],
  keyOf(event) {
    const entity = entityOf(event);
    return entity ? `${entity.type}:${entity.id}` : null;
  },
  initialState: () => ({ status: null, sequence: 0 }),
  apply(state, event) {
    const entity = entityOf(event)!;
    const next = nextStatus(state, event, entity.type);
    if (next.status === state.status) return { state: next.state, changes: [] };
    const sequence = state.sequence + 1;
    const { actorType, actorId } = actorOf(event.metadata.actor);
    const change: RowChange = {
      table: 'rm_status_history',
      kind: 'insert',
      key: { id: deterministicUuid('status', event.eventId, entity.type) },
      values: {
        entity_type: entity.type,
        entity_id: entity.id,
        old_status: state.status,
        new_status: next.status,
        actor_type: actorType,
        actor_id: actorId,
        reason: entity.type === 'run' ? runReason(event, state.status, next.status) : reasonOf(event),
        tenant_id: event.metadata.tenantId,
        correlation_id: event.metadata.correlationId ?? null,
        metadata: { eventType: event.type, streamId: event.streamId, streamPosition: event.streamPosition },
        created_at: event.recordedAt,
        sequence,
        global_position: event.globalPosition,
        event_id: event.eventId,
      },
    };
    return { state: { ...next.state, status: next.status, sequence }, changes: [change] };
  },
};
