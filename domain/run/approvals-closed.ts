// An approval still pending when its run ends can never be decided: the command that ends
// the run also closes it (ApprovalClosed), so the approval's history ends too instead of
// staying `pending` forever. The closings come just before RunCompleted, which stays a
// run's last event (certification takes a run as whole when its RunCompleted arrives).
import type { RunEvent, RunEventData } from '../events/run-events.ts';
import { runEvent } from './emit.ts';
import { foldRun, isSubmitted, type RunState } from './state.ts';
import type { FinalRunStatus } from './status.ts';

/** Why the run's end closed its approvals. */
function closedReason(status: FinalRunStatus) {
  if (status === 'cancelled') return 'run_cancelled' as const;
  if (status === 'succeeded') return 'run_ended' as const;
  return 'run_failed' as const;
}

/** One ApprovalClosed per approval still pending in `ending`, the state the run ends from. */
export function approvalsClosedByEnd(ending: RunState, completed: RunEventData<'RunCompleted'>): RunEvent[] {
  if (!isSubmitted(ending)) return [];
  const { runId, status, at } = completed;
  return Object.values(ending.approvals)
    .filter((approval) => approval.status === 'pending')
    .map((approval) =>
      runEvent('ApprovalClosed', {
        runId,
        stepIndex: approval.stepIndex,
        approvalId: approval.approvalId,
        reason: closedReason(status),
        runStatus: status,
        at,
      }),
    );
}

/** A command's events (decided on `state`) with the approvals its RunCompleted closes placed before it. */
export function withApprovalsClosed(state: RunState, events: readonly RunEvent[]): RunEvent[] {
  const end = events.findIndex((event) => event.type === 'RunCompleted');
  const completed = events[end];
  if (completed?.type !== 'RunCompleted') return [...events];
  const before = events.slice(0, end);
  return [...before, ...approvalsClosedByEnd(foldRun(before, state), completed.data), ...events.slice(end)];
}
