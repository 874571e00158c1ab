// An approval still pending when its run ends can never be decided: the command that ends
// the run also closes it (ApprovalClosed, after RunCompleted), so the approval's history ends
// too instead of staying `pending` forever.
import type { RunEvent } from '../events/run-events.ts';
import { runEvent } from './emit.ts';
import { foldRun, isSubmitted, type RunState } from './state.ts';
import type { FinalRunStatus } from './status.ts';

/** Why the run's end closed its approvals. */
function closedReason(status: FinalRunStatus) {
  if (status === 'cancelled') return 'run_cancelled' as const;
  if (status === 'succeeded') return 'run_ended' as const;
  return 'run_failed' as const;
}

/**
 * The ApprovalClosed events that follow `events` (one command's, decided on `state`): one per
 * approval still pending once they are folded, when they end the run; none otherwise.
 */
export function approvalsClosedByEnd(state: RunState, events: readonly RunEvent[]): RunEvent[] {
  const completed = events.find((event) => event.type === 'RunCompleted');
  if (completed?.type !== 'RunCompleted') return [];
  const ended = foldRun(events, state);
  if (!isSubmitted(ended)) return [];
  const { runId, status, at } = completed.data;
  return Object.values(ended.approvals)
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
