// Run statuses, and how each run event moves a run between them. The status_history
// projection and the run decider both use `statusAfter`, so the history is derivable from the
// events alone and cannot disagree with the decider.
import { z } from 'zod';

import { finalRunStatuses, isFinalStatus, type RunStatus } from './run-statuses.ts';

export {
  type FinalRunStatus,
  finalRunStatuses,
  isFinalStatus,
  type RunStatus,
  runStatuses,
} from './run-statuses.ts';
export const finalRunStatusSchema = z.enum(finalRunStatuses);

/**
 * The status after an event, or the same status when the event does not change it:
 * RunSubmitted → queued; PolicyDecided / SkillCallStarted / ApprovalGranted → running;
 * ApprovalRequested → waiting_approval; RetryScheduled → retrying; RunPaused → paused (until
 * RunResumed → running, or the run ends); RunCompleted → its status. Nothing moves a run out of
 * a final status.
 */
export function statusAfter(
  current: RunStatus | undefined,
  event: { type: string; data: unknown },
): RunStatus | undefined {
  if (current !== undefined && isFinalStatus(current)) return current;
  // Paused, the run shows it until the stop is lifted or the run ends, whatever else is recorded.
  if (current === 'paused' && event.type !== 'RunResumed' && event.type !== 'RunCompleted') return current;
  switch (event.type) {
    case 'RunSubmitted':
      return 'queued';
    case 'PolicyDecided':
    case 'SkillCallStarted':
    case 'ChildRunStarted':
    case 'ApprovalGranted':
      return 'running';
    case 'ApprovalRequested':
      return 'waiting_approval';
    case 'RetryScheduled':
      return 'retrying';
    case 'RunPaused':
      return 'paused';
    case 'RunResumed':
      return 'running';
    case 'RunCompleted':
      return finalRunStatusSchema.parse((event.data as { status?: unknown }).status);
    default:
      return current;
  }
}
