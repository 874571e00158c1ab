// The port through which executors find runs to work on and hold them while they do.
// A lease makes a run one worker's at a time; an expired lease means the worker is gone.

export interface ClaimedRun {
  runId: string;
  tenantId: string;
}

export interface RunQueue {
  /** Takes up to `limit` runs that are due and not leased (or whose lease expired). */
  claim(owner: string, now: Date, leaseMs: number, limit: number): Promise<ClaimedRun[]>;
  /** Extends the lease; false when the run is no longer this owner's. */
  renew(runId: string, owner: string, now: Date, leaseMs: number): Promise<boolean>;
  /** Gives the run back: due again at `dueAt`, or finished for good with `done`. */
  release(runId: string, owner: string, next: { dueAt: Date } | { done: true }): Promise<void>;
}
