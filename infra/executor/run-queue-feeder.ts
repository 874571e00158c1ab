// Feeds the run queue from the event stream: a submitted run becomes due at once, and so
// does a run whose approval was decided or whose cancellation was requested (it may be
// parked until an approval's expiry or a retry's due time), and the runs an emergency stop
// paused once it is lifted.
import type { CheckpointedConsumer } from '../../readmodels/checkpointed-consumer.ts';
import { enqueueRuns, resumePausedRuns } from './sql-run-queue.ts';

export const runQueueFeeder: CheckpointedConsumer = {
  name: 'run-queue-feeder',
  filter: {
    types: ['RunSubmitted', 'ApprovalGranted', 'ApprovalRejected', 'RunCancelRequested', 'EmergencyResumed'],
  },
  async apply(tx, events) {
    const due = new Map<string, { runId: string; tenantId: string; dueAt: string }>();
    for (const event of events) {
      if (event.type === 'EmergencyResumed') {
        const { tenantId } = event.data as { tenantId: string | null };
        await resumePausedRuns(tx, tenantId, event.recordedAt);
        continue;
      }
      const runId = (event.data as { runId: string }).runId;
      due.set(runId, { runId, tenantId: event.metadata.tenantId, dueAt: event.recordedAt });
    }
    await enqueueRuns(tx, [...due.values()]);
  },
};
