// Feeds the run queue from the event stream: a submitted run becomes due at once, and so
// does a run whose approval was decided or whose cancellation was requested (it may be
// parked until an approval's expiry or a retry's due time), and the runs an emergency stop
// paused once it is lifted.
import type { CheckpointedConsumer } from '../../readmodels/checkpointed-consumer.ts';
import { enqueueRuns, queueSubmittedRuns, resumePausedRuns } from './sql-run-queue.ts';

export const runQueueFeeder: CheckpointedConsumer = {
  name: 'run-queue-feeder',
  filter: {
    types: ['RunSubmitted', 'ApprovalGranted', 'ApprovalRejected', 'RunCancelRequested', 'EmergencyResumed'],
  },
  async apply(tx, events) {
    type Due = { runId: string; tenantId: string; dueAt: string };
    // A submission only needs its run queued; an approval or a cancel wakes it.
    const submitted = new Map<string, Due>();
    const woken = new Map<string, Due>();
    for (const event of events) {
      if (event.type === 'EmergencyResumed') {
        const { tenantId } = event.data as { tenantId: string | null };
        await resumePausedRuns(tx, tenantId, event.recordedAt);
        continue;
      }
      const runId = (event.data as { runId: string }).runId;
      const due = { runId, tenantId: event.metadata.tenantId, dueAt: event.recordedAt };
      (event.type === 'RunSubmitted' ? submitted : woken).set(runId, due);
    }
    for (const runId of woken.keys()) submitted.delete(runId);
    await queueSubmittedRuns(tx, [...submitted.values()]);
    await enqueueRuns(tx, [...woken.values()]);
  },
};
