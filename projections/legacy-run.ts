// A run in the older SDK's shape (AOS-REFERENCE.md, "The older SDK's machine-native surface"):
// four statuses, snake_case, and an outcome once the run has ended.
import { finalRunStatuses, type LegacyRunStatus } from '../domain/run/run-statuses.ts';

interface RunFacts {
  runId: string;
  agentId: string;
  status: string;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
}

const isFinal = (status: string) => (finalRunStatuses as readonly string[]).includes(status);

/** Every ending but success is a failure to the older clients; they poll for those two. */
export function legacyStatusOf(status: string): LegacyRunStatus {
  if (status === 'queued') return 'pending';
  if (!isFinal(status)) return 'running';
  return status === 'succeeded' ? 'succeeded' : 'failed';
}

/** `data` is what the run produced: the plan's output, else its last step's (v1 plans). */
export function legacyRunOf(run: RunFacts, goal: string, data: unknown) {
  const final = isFinal(run.status);
  const outcome =
    run.status === 'succeeded'
      ? { success: true, ...(data === undefined || data === null ? {} : { data }) }
      : { success: false, error: { code: run.status.toUpperCase(), message: run.reason ?? run.status } };
  return {
    id: run.runId,
    status: legacyStatusOf(run.status),
    agent_id: run.agentId,
    goal,
    created_at: run.createdAt,
    ...(final ? { completed_at: run.updatedAt, outcome } : {}),
  };
}
