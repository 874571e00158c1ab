// approvals: every approval a run asked for and where it stands — pending until it is
// granted, rejected, expires, or is closed because its run ended first — and its escalation.
import type { RunEventData } from '../domain/events/run-events.ts';
import type { ApprovalStatus } from '../domain/run/approval-statuses.ts';
import type { ProjectedEvent, Projection, RowValues } from './projection.ts';

const statusAfterEvent: Record<string, ApprovalStatus> = {
  ApprovalRequested: 'pending',
  ApprovalGranted: 'granted',
  ApprovalRejected: 'rejected',
  ApprovalExpired: 'expired',
  ApprovalClosed: 'closed',
};

/** The row as last written (null before the request). */
type ApprovalRow = RowValues | null;

function requestedRow(event: ProjectedEvent): RowValues {
  const d = event.data as RunEventData<'ApprovalRequested'>;
  return {
    tenant_id: event.metadata.tenantId,
    run_id: d.runId,
    step_index: d.stepIndex,
    attempt: d.attempt,
    status: 'pending',
    reason: d.reason,
    requested_at: d.at,
    expires_at: d.expiresAt,
    ended_at: null,
    decided_by: null,
    comment: null,
    closed_reason: null,
    requested_position: event.globalPosition,
    escalates_at: d.escalatesAt ?? null,
    escalated_at: null,
  };
}

/** What an ending event adds to the row: when, and by whom or why. */
function endedFields(event: ProjectedEvent): RowValues {
  const d = event.data as { at: string; actor?: { id: string }; comment?: string; reason?: string };
  return {
    status: statusAfterEvent[event.type],
    ended_at: d.at,
    decided_by: d.actor?.id ?? null,
    comment: d.comment ?? null,
    closed_reason: event.type === 'ApprovalClosed' ? (d.reason ?? null) : null,
  };
}

export const approvalsProjection: Projection<ApprovalRow> = {
  name: 'approvals',
  // 2: escalation (issue 15).
  version: 2,
  tables: [
    {
      name: 'rm_approvals',
      keyColumns: ['approval_id'],
      columns: [
        'tenant_id',
        'run_id',
        'step_index',
        'attempt',
        'status',
        'reason',
        'requested_at',
        'expires_at',
        'ended_at',
        'decided_by',
        'comment',
        'closed_reason',
        'requested_position',
        'escalates_at',
        'escalated_at',
      ],
    },
  ],
  eventTypes: [...Object.keys(statusAfterEvent), 'ApprovalEscalated'],
  keyOf: (event) =>
    event.type in statusAfterEvent || event.type === 'ApprovalEscalated'
      ? (event.data as { approvalId: string }).approvalId
      : null,
  initialState: () => null,
  apply(state, event) {
    const approvalId = (event.data as { approvalId: string }).approvalId;
    const row =
      event.type === 'ApprovalRequested'
        ? requestedRow(event)
        : event.type === 'ApprovalEscalated'
          ? state && { ...state, escalated_at: (event.data as { at: string }).at }
          : state && { ...state, ...endedFields(event) };
    if (!row) return { state, changes: [] };
    return {
      state: row,
      changes: [{ table: 'rm_approvals', kind: 'upsert', key: { approval_id: approvalId }, values: row }],
    };
  },
};
