// The emergency stop (docs/failures.md): the commands that stop and resume a scope (a tenant,
// or every tenant), and the executor's gate. The stop stream is fenced (LedgerTransaction.fence):
// a stop's append takes the fence exclusively, and every attempt's start — the transaction of
// its reservation and StartAttempt — takes a share of it and reads the stop state under it. So
// the stop's commit waits for the starts in progress, and a start after it sees the stop:
// no attempt starts after the stop is recorded, across executors and processes.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { type Actor, SYSTEM_TENANT } from '../domain/actor.ts';
import {
  EMERGENCY_STOP_STREAM,
  type EmergencyStopCommand,
  type EmergencyStopState,
  emergencyStopDecider,
  type StopInForce,
  stopHolding,
} from '../domain/emergency-stop/decider.ts';
import type { SkillOutcome } from '../domain/skill.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import type { BudgetLedger, LedgerTransaction } from './budget-ledger.ts';
import { handleCommand, type Loaded, loadStream } from './handle-command.ts';
import type { RunQueue } from './run-queue.ts';
import { throttled } from './throttled.ts';

export interface EmergencyStopDeps {
  store: EventStore;
  /** Its transactions fence the stop stream (the attempts' starts run in them too). */
  ledger: Pick<BudgetLedger, 'together'>;
  /** Woken on a stop (executors abort the calls it holds) and told of a resume (paused runs go on). */
  runs: Pick<RunQueue, 'wakeHolders' | 'resumePaused'>;
  clock: () => Date;
}

/** The stop state as recorded. */
export async function emergencyStopState(store: EventStore): Promise<Loaded<EmergencyStopState>> {
  const { state, version } = await loadStream(store, EMERGENCY_STOP_STREAM, emergencyStopDecider);
  return { state, version };
}

/** Records the command on the fenced stop stream; answers the state after it and whether it changed. */
async function record(deps: EmergencyStopDeps, command: EmergencyStopCommand) {
  const handled = await deps.ledger.together(async (tx) => {
    await tx.fence(EMERGENCY_STOP_STREAM, 'exclusive');
    return handleCommand(tx.store, EMERGENCY_STOP_STREAM, emergencyStopDecider, command, {
      commandId: `${command.type}:${randomUUID()}`,
      metadata: {
        tenantId: command.tenantId ?? SYSTEM_TENANT,
        actor: `${command.actor.role}:${command.actor.id}`,
      },
    });
  });
  return { changed: handled.events.length > 0, state: handled.state };
}

export interface StopRequest {
  /** null: every tenant. */
  tenantId: string | null;
  actor: Actor;
  /** Why: shown wherever the stop is (the console's banner, the audit). */
  reason: string;
}

/** Stops the scope: recorded once it holds off every attempt start; then the executors are woken to abort its calls. */
export async function emergencyStop(deps: EmergencyStopDeps, request: StopRequest) {
  const recorded = await record(deps, { type: 'Stop', ...request, now: deps.clock().toISOString() });
  // Every executor, here and in other processes, looks at the stop and aborts the calls it holds.
  if (recorded.changed) deps.runs.wakeHolders();
  return recorded;
}

/** Lifts the scope's stop; its paused runs are made due at once. */
export async function emergencyResume(deps: EmergencyStopDeps, request: Omit<StopRequest, 'reason'>) {
  const now = deps.clock();
  const recorded = await record(deps, {
    type: 'Resume',
    tenantId: request.tenantId,
    actor: request.actor,
    now: now.toISOString(),
  });
  // Even when nothing was recorded (resumed already): a wake-up lost then is made good now.
  await deps.runs.resumePaused(request.tenantId, now).catch(() => {});
  return recorded;
}

/** How often, at most, an executor with calls out looks at the stop stream on a wake-up. */
const CHECK_MS = 100;
/** How often it looks while calls are out even without one (a lost wake-up). */
const POLL_MS = 1_000;

/** Thrown in an attempt's start transaction when a stop holds the run's tenant: it rolls back. */
export class HeldByEmergencyStop extends Error {
  constructor(readonly stop: StopInForce) {
    super(`an emergency stop (${stop.tenantId ?? 'every tenant'}, since ${stop.at}) holds the run`);
  }
}

/** The message of a call the stop aborted. */
const abortedMessage = (stop: StopInForce) =>
  `the emergency stop of ${stop.tenantId ?? 'every tenant'} (since ${stop.at}) aborted the call; it is retried once the stop is lifted`;

/**
 * The executor's side: the gate in the attempt's start transaction, and the calls in flight,
 * each aborted as soon as a stop of its tenant is seen. One folded state, only ever moved
 * forward, serves both: a call registered after its start's gate read cannot miss a stop
 * seen since.
 */
export function createEmergencyStopGate(store: EventStore) {
  let known: Loaded<EmergencyStopState> = { state: emergencyStopDecider.initialState(), version: -1 };
  const calls = new Map<AbortController, string>();
  let poll: NodeJS.Timeout | undefined;

  function adopt(loaded: Loaded<EmergencyStopState>) {
    if (loaded.version <= known.version) return;
    known = { state: loaded.state, version: loaded.version };
    for (const [controller, tenantId] of calls) {
      const stop = stopHolding(known.state, tenantId);
      if (stop) controller.abort(new HeldByEmergencyStop(stop));
    }
  }

  async function refresh(on: EventStore) {
    adopt(await loadStream(on, EMERGENCY_STOP_STREAM, emergencyStopDecider, known));
  }

  /** Looks at the stop stream for the calls out (throttled; once more when the window ends). */
  const look = throttled(
    CHECK_MS,
    () => {
      refresh(store).catch(() => {});
    },
    () => calls.size > 0,
  );
  const check = look.ask;

  function stopPolling() {
    clearInterval(poll);
    look.cancel();
    poll = undefined;
  }

  return {
    /**
     * In an attempt's start transaction, before anything is written: throws HeldByEmergencyStop
     * when a stop holds the tenant. The fence is held until the transaction ends.
     */
    async admit(tx: LedgerTransaction, tenantId: string): Promise<void> {
      // A stop known here may have been lifted since: only a fence that asks can tell (one that
      // answers what is known would hold the run until the next stop).
      const held = stopHolding(known.state, tenantId) !== undefined;
      const version = await tx.fence(EMERGENCY_STOP_STREAM, 'shared', held ? undefined : known.version);
      if (version > known.version) await refresh(tx.store);
      const stop = stopHolding(known.state, tenantId);
      if (stop) throw new HeldByEmergencyStop(stop);
    },

    /**
     * A signal for one call of the tenant, aborted when a stop of it is seen or when one of
     * `also` aborts (with that one's reason); `release` once the call returned. Listening here,
     * rather than combining with AbortSignal.any, halves what a call's signal costs on Node 20.
     */
    watchCall(
      tenantId: string,
      also: readonly AbortSignal[] = [],
    ): { signal: AbortSignal; release: () => void } {
      const controller = new AbortController();
      const stop = stopHolding(known.state, tenantId);
      if (stop) controller.abort(new HeldByEmergencyStop(stop));
      const follow = (event: Event) => controller.abort((event.target as AbortSignal).reason);
      // Every call out listens on the executor's shutdown signal (and a run's parallel calls on
      // its lease): no limit to warn at, as each listener goes when its call returns.
      setMaxListeners(0, ...also);
      for (const signal of also) {
        if (signal.aborted) controller.abort(signal.reason);
        else signal.addEventListener('abort', follow, { once: true });
      }
      calls.set(controller, tenantId);
      poll ??= setInterval(check, POLL_MS);
      return {
        signal: controller.signal,
        release: () => {
          for (const signal of also) signal.removeEventListener('abort', follow);
          calls.delete(controller);
          if (calls.size === 0) stopPolling();
        },
      };
    },

    /** An executor was woken (a stop wakes them all): look at the stream if calls are out. */
    check,

    close: stopPolling,
  };
}

export type EmergencyStopGate = ReturnType<typeof createEmergencyStopGate>;

/**
 * The outcome recorded for a call the stop aborted: EMERGENCY_STOP, keeping what the skill
 * reported it consumed (charged as reported, never more). A call that succeeded before the
 * abort took hold keeps its success.
 */
export function stopAbortedOutcome(outcome: SkillOutcome, signal: AbortSignal): SkillOutcome {
  if (outcome.ok || !(signal.reason instanceof HeldByEmergencyStop)) return outcome;
  const aborted: SkillOutcome = {
    ok: false,
    errorCode: 'EMERGENCY_STOP',
    message: abortedMessage(signal.reason.stop),
  };
  if (outcome.usage) aborted.usage = outcome.usage;
  if (outcome.providerCostMicros !== undefined) aborted.providerCostMicros = outcome.providerCostMicros;
  return aborted;
}
