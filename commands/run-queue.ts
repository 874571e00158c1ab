// The port through which executors find runs to work on and hold them while they do.
// A lease makes a run one worker's at a time; an expired lease means the worker is gone.
import type { RunState } from '../domain/run/state.ts';
import type { AppendResult, NewEvent } from '../domain/store/envelope.ts';
import type { AlongsideStatement } from './budget-ledger.ts';

/** A run's state as its submission in this process left it (`RunQueue.handOver`). */
export interface HandedOverRun {
  state: RunState;
  version: number;
  /** When it was recorded (ms since the epoch). */
  at: number;
}

export interface ClaimedRun {
  runId: string;
  tenantId: string;
  /** Handed over by a submission in this process: the state to start from instead of a read. */
  handedOver?: HandedOverRun;
}

export interface Claimed {
  runs: ClaimedRun[];
  /**
   * When the earliest run not claimed now becomes claimable (its due time, or the end of
   * another worker's lease); null when none is waiting, and not looked for (null) when the
   * claim took as many runs as asked: more may be due at once, and the caller claims again as
   * soon as it has room. An idle executor sleeps until then (or until woken) instead of polling.
   */
  nextDueAt: Date | null;
}

/**
 * An executor of this process that takes runs straight from their submission: the submission's
 * append leases the run to it in the same statement (`RunQueue.appendDue`), so the run is not
 * claimed, no wake-up is sent and no other executor can take it.
 */
export interface LocalTaker {
  owner: string;
  leaseMs: number;
  /** Holds a free slot for a run about to be appended; false when none is free. */
  reserve(): boolean;
  /** The run its append leased to this taker, in the slot `reserve` held: works on it. */
  take(claim: ClaimedRun): void;
  /** Gives back the slot `reserve` held: the append failed, or found the run recorded before. */
  unreserve(): void;
}

export interface DueRun {
  runId: string;
  tenantId: string;
  dueAt: Date;
}

export interface RunQueue {
  /** Takes up to `limit` runs that are due and not leased (or whose lease expired). */
  claim(owner: string, now: Date, leaseMs: number, limit: number): Promise<Claimed>;
  /** Extends the lease; false when the run is no longer this owner's. */
  renew(runId: string, owner: string, now: Date, leaseMs: number): Promise<boolean>;
  /**
   * Gives the run back: due again at `dueAt` — or sooner, if it was enqueued while held (an
   * approval, a cancel, a child's end came meanwhile) — or finished for good with `done`.
   * `paused`: an emergency stop holds it; `resumePaused` makes it due when the stop is lifted.
   */
  release(
    runId: string,
    owner: string,
    next: { dueAt: Date; paused?: true } | { done: true; written?: true },
  ): Promise<void>;
  /**
   * The release of a finished run as a statement of the transaction that records its end
   * (`LedgerTransaction.alongside`): done when its last events commit, in their round trip. Its
   * `release` then says `written: true` and sends nothing. Absent: released on its own.
   */
  releaseAlongside?(runId: string, owner: string): AlongsideStatement;
  /**
   * Makes runs due (a submission, a decided approval, a cancellation): idempotent, never
   * un-finishes a run, and wakes the executors watching this queue, here and in other processes.
   */
  enqueue(runs: DueRun[]): Promise<void>;
  /**
   * Appends a run's events and makes the run due in one statement: it is due exactly when they
   * are recorded now (or were, by the same command). Wakes the executors like `enqueue` — or,
   * when an executor of this process has a free slot (`takeSubmitted`), leases a newly recorded
   * run to it in the same statement and hands it over, after the caller's `handOver`.
   * Absent (a queue that cannot share the store's statement): append, then `enqueue`.
   */
  appendDue?(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: number | 'no_stream' },
    run: DueRun,
  ): Promise<AppendResult>;
  /**
   * An emergency stop was lifted (`tenantId` null: every tenant's): the runs released `paused`
   * are due now, and so, at their release, are the runs held now (which may be pausing). Wakes
   * the executors like `enqueue`.
   */
  resumePaused(tenantId: string | null, now: Date): Promise<void>;
  /**
   * The state a submission in this process recorded, given to this process's claim of the run
   * (which then reads nothing); forgotten at the claim, and kept for a bounded number of runs.
   */
  handOver?(runId: string, run: HandedOverRun): void;
  /** Offers `appendDue`'s runs to an executor of this process; answers the function that stops it. */
  takeSubmitted?(taker: LocalTaker): () => void;
  /** Calls `onWake` whenever runs may have become due; resolves to the unwatch function. */
  watch(onWake: () => void): Promise<() => Promise<void>>;
  /**
   * Tells the executors holding runs to look at them again: a cancel or an approval of a run
   * held (`enqueue` does this itself when it wakes one), or an emergency stop. Here at once,
   * other processes by NOTIFY.
   */
  wakeHolders(): void;
  /** Calls `onWoken` on `wakeHolders` (a submission, which wakes claims, does not). */
  watchHeld(onWoken: () => void): Promise<() => Promise<void>>;
}
