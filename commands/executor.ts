// The executor: the process manager that drives runs. It claims due runs from the queue
// under a lease, asks the run decider what to do next (nextAction), does it — reserve
// budget, call a skill, wait — and reports each observation back as a command, so every
// step is an event before the next one starts. Several executors, in one process or many,
// share the queue; the lease and the expected-version appends keep any attempt from
// running twice. A run found with a call in flight when claimed lost its worker: the
// attempt is recorded WORKER_LOST and retried under the policy.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { breakerSettings, breakerTargetOf } from '../domain/breaker/decider.ts';
import type { LedgerCommand } from '../domain/budget/ledger.ts';
import { DomainError, isDomainError } from '../domain/domain-error.ts';
import type { RunEvent } from '../domain/events/run-events.ts';
import { deterministicUuid } from '../domain/hashing.ts';
import { type AttemptReservation, finishedAttemptReservations } from '../domain/run/closed-attempt.ts';
import type { RunCommand } from '../domain/run/commands.ts';
import {
  type NextAction,
  nextAction,
  type RunState,
  runDecider,
  runStreamId,
} from '../domain/run/decider.ts';
import { nextActions } from '../domain/run/next-action.ts';
import { isSubmitted, type SubmittedRun } from '../domain/run/state.ts';
import type { SkillOutcome } from '../domain/skill.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { type BreakerGuard, createBreakerGate } from './breaker-gate.ts';
import type { BudgetLedger, LedgerTransaction } from './budget-ledger.ts';
import { cancelChildRun, childRunEnd, submitChildRun } from './child-runs.ts';
import { createEmergencyStopGate, HeldByEmergencyStop, stopAbortedOutcome } from './emergency-stop.ts';
import { handleCommand, type Loaded, loadStream } from './handle-command.ts';
import { type CommandMetrics, noopMetrics, reportRunEvents } from './metrics.ts';
import { currentFailureCatalog } from './reference-data.ts';
import type { ClaimedRun, LocalTaker, RunQueue } from './run-queue.ts';
import type { SkillPort } from './skill-port.ts';
import { throttled } from './throttled.ts';
import { wakeableSleep } from './wakeable-sleep.ts';

export interface ExecutorDeps {
  store: EventStore;
  queue: RunQueue;
  skills: SkillPort;
  /** Where reservations are made and closed (infra/executor/sql-budget-ledger.ts). */
  ledger: BudgetLedger;
  clock: () => Date;
  /** The tenant's spending limit per UTC day, in micro-dollars. */
  dayLimitMicros: (tenantId: string) => number;
  log?: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
  metrics?: CommandMetrics;
  /** Child runs are submitted under the same exemptions as any run (AOS_HTTP_ALLOW_HOSTS). */
  localAllowHosts?: readonly string[];
}

/** How often, at most, a run with calls out is looked at for a cancel when the queue wakes. */
const CANCEL_CHECK_MS = 100;

/** How soon a paused run is looked at again if no resume wakes it (a lost wake-up); its deadline, if sooner. */
const PAUSED_RECHECK_MS = 60_000;

/** The ceiling on one skill call unless the executor is given another (within the run's deadline). */
export const DEFAULT_SKILL_TIMEOUT_MS = 30_000;

export interface ExecutorOptions {
  /** Identifies this worker in leases. */
  owner?: string;
  leaseMs?: number;
  /** Runs worked on at once. */
  concurrency?: number;
  /**
   * Longest sleep of an idle executor when nothing is known to be due (a wake-up lost); it is
   * woken by every enqueue, and sleeps exactly until the next due run otherwise.
   */
  pollIntervalMs?: number;
  /** Upper bound of one skill call; the run's deadline may shorten it. */
  skillTimeoutMs?: number;
  /**
   * How soon a run waiting only for child runs looks at them again. A child's end wakes its
   * parent at once; this bounds the wait when that wake-up was lost.
   */
  childPollMs?: number;
}

type LoadedRun = Loaded<RunState>;

/** When the attempt in flight was started (and its reservation made). */
function startedAt(state: RunState, action: { stepIndex: number; compensation?: true }): string {
  if (!isSubmitted(state)) throw new Error('no attempt in flight');
  const phase = action.compensation ? state.compensation?.phase : state.steps[action.stepIndex]?.phase;
  if (phase?.kind !== 'in_flight') throw new Error('no attempt in flight');
  return phase.startedAt;
}

function chargedBy(events: readonly RunEvent[]): number {
  return events.reduce((sum, e) => sum + (e.type === 'CostCharged' ? e.data.chargedMicros : 0), 0);
}

export function createExecutor(deps: ExecutorDeps, options: ExecutorOptions = {}) {
  const owner = options.owner ?? `executor-${randomUUID()}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const concurrency = options.concurrency ?? 8;
  /** The idle sleep's bound: enqueues wake the executor, so polling is only a fallback. */
  const idleWaitMs = options.pollIntervalMs ?? 5_000;
  const skillTimeoutMs = options.skillTimeoutMs ?? DEFAULT_SKILL_TIMEOUT_MS;
  const childPollMs = options.childPollMs ?? 5_000;
  const { store, queue, skills, clock } = deps;
  /** Child runs are submitted like any run: same checks, same policy and price snapshots. */
  const childDeps = {
    store,
    skills,
    clock,
    runs: queue,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.localAllowHosts ? { localAllowHosts: deps.localAllowHosts } : {}),
  };
  const metrics = deps.metrics ?? noopMetrics;
  const active = new Map<string, Promise<void>>();
  const shutdown = new AbortController();
  let loop: Promise<void> | undefined;

  const nowIso = () => clock().toISOString();
  const breakers = createBreakerGate({
    store,
    clock,
    onChange: (tenantId, target, status) => metrics.breakerChanged(tenantId, target, status),
  });
  const emergencyStops = createEmergencyStopGate(store);

  /** The circuit breaker a call goes through: its tenant and target, with the run's policy's settings. */
  function breakerGuard(
    claim: ClaimedRun,
    state: SubmittedRun,
    action: Extract<NextAction, { kind: 'call' }>,
  ): BreakerGuard | undefined {
    const target = breakerTargetOf(action.skill, action.input);
    if (target === undefined) return undefined;
    return {
      tenantId: claim.tenantId,
      target,
      settings: breakerSettings(state.submission.policy.rules),
      call: { runId: claim.runId, stepIndex: action.stepIndex, attempt: action.attempt },
    };
  }

  function circuitOpen(target: string, halfOpenAt: string): SkillOutcome {
    return {
      ok: false,
      errorCode: 'CIRCUIT_OPEN',
      message: `the circuit breaker of ${target} is open until ${halfOpenAt}: the call was not made`,
      retryAfterMs: Math.max(0, Date.parse(halfOpenAt) - clock().getTime()),
    };
  }

  async function record(claim: ClaimedRun, run: LoadedRun, command: RunCommand): Promise<LoadedRun> {
    return (await recordWithEvents(claim, run, command)).run;
  }

  /** `on`: a ledger transaction, so that the step's ledger events commit with the run's. */
  async function recordWithEvents(
    claim: ClaimedRun,
    run: LoadedRun,
    command: RunCommand,
    on?: LedgerTransaction,
  ) {
    const handled = await handleCommand(
      on?.store ?? store,
      runStreamId(claim.runId),
      runDecider,
      command,
      {
        commandId: `${claim.runId}@${run.version}:${command.type}${'stepIndex' in command && command.stepIndex !== undefined ? `:${command.stepIndex}` : ''}`,
        metadata: { tenantId: claim.tenantId, actor: `executor:${owner}`, correlationId: claim.runId },
        metrics: on ? on.counted(metrics) : metrics,
      },
      run,
    );
    const recorded = {
      run: { state: handled.state, version: handled.version },
      events: handled.events,
      alreadyApplied: handled.alreadyApplied,
    };
    // In a transaction, reported once it has committed (`reportRecorded`).
    if (!on) reportRecorded(claim, recorded);
    return recorded;
  }

  function reportRecorded(
    claim: ClaimedRun,
    recorded: { run: LoadedRun; events: RunEvent[]; alreadyApplied: boolean },
  ) {
    if (!recorded.alreadyApplied)
      reportRunEvents(metrics, claim.tenantId, recorded.run.state, recorded.events);
  }

  /** `at` names the day: a reservation is settled in the ledger of the day it was made. */
  function ledger(
    claim: ClaimedRun,
    command: LedgerCommand,
    commandId: string,
    at: string,
    on: Pick<BudgetLedger, 'apply'> = deps.ledger,
  ) {
    return on.apply(
      command,
      { tenantId: claim.tenantId, runId: claim.runId, at },
      {
        commandId,
        metadata: { tenantId: claim.tenantId, actor: `executor:${owner}`, correlationId: claim.runId },
        metrics,
      },
    );
  }

  /** Settles the attempt's reservation at what it was charged, or releases it if nothing was. */
  async function closeReservation(
    claim: ClaimedRun,
    reservation: AttemptReservation,
    on: Pick<BudgetLedger, 'apply'> = deps.ledger,
  ) {
    const { reservationId, chargedMicros, reservedAt } = reservation;
    const command =
      chargedMicros > 0
        ? { type: 'Settle' as const, reservationId, actualMicros: chargedMicros }
        : { type: 'Release' as const, reservationId };
    await ledger(claim, command, `${command.type}:${reservationId}`, reservedAt, on);
  }

  async function callSkill(
    claim: ClaimedRun,
    run: LoadedRun,
    action: Extract<ReturnType<typeof nextAction>, { kind: 'call' }>,
    lease: AbortSignal,
    cancelled: AbortSignal,
  ) {
    const state = run.state as SubmittedRun;
    const deadlineMs = Date.parse(state.submission.deadlineAt) - clock().getTime();
    const started = clock().getTime();
    const guard = breakerGuard(claim, state, action);
    if (guard) {
      const gate = await breakers.ask(guard);
      // The breaker is open: the call is not made; the attempt waits for the half-open time.
      if (!gate.ok) return { outcome: circuitOpen(guard.target, gate.halfOpenAt), latencyMs: 0 };
    }
    // A cancel of the run aborts the call too: its outcome (CANCELLED) is then recorded.
    // So does an emergency stop of its tenant: EMERGENCY_STOP, retried after the stop.
    const stop = emergencyStops.watchCall(claim.tenantId, [lease, shutdown.signal, cancelled]);
    try {
      const invoked: SkillOutcome = await skills.invoke({
        skill: action.skill,
        ...(action.skillVersion === undefined ? {} : { skillVersion: action.skillVersion }),
        input: action.input,
        tenantId: claim.tenantId,
        runId: claim.runId,
        stepIndex: action.stepIndex,
        attempt: action.attempt,
        seed: action.seed,
        idempotencyKey: `${claim.runId}:${action.stepIndex}${action.compensation ? ':compensate' : ''}`,
        timeoutMs: Math.max(1, Math.min(skillTimeoutMs, deadlineMs)),
        signal: stop.signal,
      });
      const outcome = stopAbortedOutcome(invoked, stop.signal);
      // Given up mid-call (lease lost, or this process is stopping): record nothing. The
      // attempt stays in flight, and whoever claims the run next records it WORKER_LOST.
      if (lease.aborted || shutdown.signal.aborted) {
        throw new DomainError('WORKER_LOST', 'the call was abandoned before its outcome was recorded');
      }
      if (guard) await breakers.record(guard, outcome);
      return { outcome, latencyMs: Math.max(0, clock().getTime() - started) };
    } finally {
      stop.release();
    }
  }

  /**
   * Holds the run's lease for as long as it is worked on here, not only during calls: a run
   * with parallel branches decides many commands between calls, and a lease that lapsed
   * meanwhile would let a second worker decide (and call) the same attempts.
   */
  function holdLease(claim: ClaimedRun) {
    const lease = new AbortController();
    const renewal = setInterval(() => {
      queue.renew(claim.runId, owner, clock(), leaseMs).then(
        (held) => held || lease.abort(new Error('lease lost')),
        () => {},
      );
    }, leaseMs / 3);
    return { signal: lease.signal, release: () => clearInterval(renewal) };
  }

  /**
   * Cancels asked while a run's calls are out. A cancel wakes the run while it is held, which
   * wakes every executor's holders (RunQueue.watchHeld); each then looks at the runs it is
   * calling for (at most every CANCEL_CHECK_MS per run) and aborts the calls of one whose stream
   * now holds RunCancelRequested. A submission wakes claims only: no stream is read for it.
   */
  const cancelChecks = new Map<string, { check: () => void; stop: () => void }>();
  function watchForCancel(claim: ClaimedRun, knownVersion: () => number, calling: () => boolean) {
    const controller = new AbortController();
    const look = throttled(
      CANCEL_CHECK_MS,
      () =>
        store.readStream(runStreamId(claim.runId), { from: knownVersion() + 1 }).then(
          (events) => {
            if (events.some((e) => e.type === 'RunCancelRequested'))
              controller.abort(new Error('run cancelled'));
          },
          () => {},
        ),
      () => !controller.signal.aborted && calling(),
    );
    const check = look.ask;
    const stop = () => {
      look.cancel();
      cancelChecks.delete(claim.runId);
    };
    cancelChecks.set(claim.runId, { check, stop });
    return controller.signal;
  }

  /** The reservation of an attempt: derived from the run, step and attempt, so a retried reserve is the same one. */
  function reservationIdFor(
    claim: ClaimedRun,
    action: { stepIndex: number; attempt: number; compensation?: true },
  ) {
    return action.compensation
      ? deterministicUuid('reservation', claim.runId, action.stepIndex, action.attempt, 'compensation')
      : deterministicUuid('reservation', claim.runId, action.stepIndex, action.attempt);
  }

  /**
   * Drives one claimed run. Parallel branches: every action of `nextActions` that is not a
   * call is done in turn under the run's lock; a call runs on its own, and its outcome is
   * recorded (and its reservation closed) under the same lock, so the run's commands are
   * decided one at a time on the latest state while the calls overlap.
   */
  async function processRun(claim: ClaimedRun): Promise<boolean> {
    const lease = holdLease(claim);
    try {
      return await driveRun(claim, lease.signal);
    } finally {
      lease.release();
      cancelChecks.get(claim.runId)?.stop();
    }
  }

  /**
   * The state a submission here handed over, while no other worker can have died holding the
   * run: any other claim came after the submission, and its lease would have to expire before
   * this claim — so nothing can be left to close (the events, which say what is, are none). A
   * state that is not the head any more (a cancel since) fails the first append, which reads.
   */
  function startingState(claim: ClaimedRun) {
    const run = claim.handedOver;
    if (!run || clock().getTime() - run.at >= leaseMs) return undefined;
    return { state: run.state, version: run.version, events: [] };
  }

  /** Gives the run back to the queue: done, or due again at `next.dueAt`. True when done. */
  async function released(claim: ClaimedRun, next: Parameters<RunQueue['release']>[2]): Promise<boolean> {
    await queue.release(claim.runId, owner, next);
    return 'done' in next;
  }

  async function driveRun(claim: ClaimedRun, lease: AbortSignal): Promise<boolean> {
    const loaded = startingState(claim) ?? (await loadStream(store, runStreamId(claim.runId), runDecider));
    let run: LoadedRun = loaded;
    // A previous owner may have recorded outcomes and died before closing their reservations.
    for (const finished of finishedAttemptReservations(loaded.events))
      await closeReservation(claim, finished);
    const startedByMe = new Set<string>();
    const cancelled = watchForCancel(
      claim,
      () => run.version,
      () => calls.size > 0,
    );
    /** Children seen still running during this claim: not looked at again before it ends. */
    const watchedChildren = new Set<string>();
    const calls = new Map<string, Promise<void>>();
    let callError: unknown;
    /** An emergency stop holds the run: no attempt is started during this claim. */
    let paused = false;
    /** The run's last transition released it (RunQueue.releaseAlongside). */
    let releasedWithEnd = false;
    let lock: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
      const next = lock.then(work);
      lock = next.catch(() => {});
      return next;
    };
    const command = (stepIndex: number | undefined) => (stepIndex === undefined ? {} : { stepIndex });

    /** What can be done now: not a wait, not a call already out, not a child already looked at. */
    const firstDoable = (actions: NextAction[]) =>
      actions.find(
        (a) =>
          a.kind !== 'wait' &&
          a.kind !== 'await_approval' &&
          a.kind !== 'await_recovery' &&
          !(a.kind === 'call' && calls.has(a.reservationId)) &&
          !(a.kind === 'reserve' && paused) &&
          !(a.kind === 'await_child' && watchedChildren.has(a.childRunId)),
      );

    /** One action under the lock; 'idle' when there is nothing to do but wait. */
    const step = (): Promise<'continue' | 'idle' | 'done'> =>
      exclusive(async () => {
        // Another worker may own the run now: decide nothing more.
        if (lease.aborted) throw new DomainError('WORKER_LOST', 'the run lease was lost');
        if (run.state.status === 'none') return 'done';
        const now = nowIso();
        const actions = nextActions(run.state, now);
        if (actions[0]?.kind === 'done') return 'done';
        const action = firstDoable(actions);
        if (!action) return 'idle';
        switch (action.kind) {
          case 'evaluate':
          case 'reserve':
            // Nothing decided (a branch waiting for another to settle): do not spin on it.
            if (!(await transition(now))) return 'idle';
            break;
          case 'expire_approval':
            run = await record(claim, run, { type: 'ExpireApproval', stepIndex: action.stepIndex, now });
            break;
          case 'escalate_approval':
            run = await record(claim, run, { type: 'EscalateApproval', stepIndex: action.stepIndex, now });
            break;
          case 'call':
            if (!startedByMe.has(action.reservationId)) {
              // Started by a worker whose lease has expired: its outcome is unknown.
              const reservedAt = startedAt(run.state, action);
              run = await record(claim, run, {
                type: 'RecordWorkerLost',
                ...target(action),
                failureCatalog: await currentFailureCatalog(store),
                now,
              });
              await closeReservation(claim, {
                reservationId: action.reservationId,
                chargedMicros: 0,
                reservedAt,
              });
              break;
            }
            startCall(action);
            break;
          case 'start_child':
            await startChild(action, now);
            break;
          case 'await_child': {
            const end = await childRunEnd(deps, action.childRunId);
            if (!end) watchedChildren.add(action.childRunId);
            else
              run = await record(claim, run, {
                type: 'RecordChildEnded',
                childRunId: action.childRunId,
                ...end,
                now,
              });
            break;
          }
          case 'cancel_child':
            await cancelChildRun(childDeps, run.state as SubmittedRun, action.childRunId);
            run = await record(claim, run, {
              type: 'RequestChildCancel',
              childRunId: action.childRunId,
              now,
            });
            break;
          default:
            break;
        }
        return 'continue';
      });

    /** A compensation's commands name no step: there is one at a time. */
    const target = (action: { stepIndex: number; compensation?: true }) =>
      action.compensation ? {} : { stepIndex: action.stepIndex };

    type Recorded = Awaited<ReturnType<typeof recordWithEvents>>;

    /** The outcome of a call, to be recorded with its reservation's close. */
    interface Finished {
      action: Extract<NextAction, { kind: 'call' }>;
      outcome: SkillOutcome;
      latencyMs: number;
      reservedAt: string;
      failureCatalog?: Awaited<ReturnType<typeof currentFailureCatalog>>;
    }

    /**
     * One step transition in one transaction: a call's outcome with its reservation's close
     * (when `finished` is given), then every evaluation and reservation the run calls for next,
     * each reservation with its attempt's start — as far as the run can go without waiting. So
     * a linear step costs one commit from the end of one call to the start of the next.
     * The ledger's transaction sends the run's events of the whole transition as one append
     * (LedgerTransaction.store). `withReservations: false`: the transition stops at the first
     * reservation (one was refused; the refusal is recorded on its own).
     */
    async function chain(
      tx: LedgerTransaction,
      now: string,
      finished: Finished | undefined,
      withReservations: boolean,
    ) {
      let current = run;
      const recorded: Recorded[] = [];
      const started: string[] = [];
      /** The emergency stop's fence is taken once per transaction, at its first start. */
      let fenced = false;
      const commit = (step: Recorded) => {
        recorded.push(step);
        current = step.run;
      };
      if (finished) {
        const { action, outcome, latencyMs, failureCatalog, reservedAt } = finished;
        const command: RunCommand = {
          type: 'RecordOutcome',
          ...target(action),
          outcome,
          latencyMs,
          ...(failureCatalog ? { failureCatalog } : {}),
          now,
        };
        const step = await recordWithEvents(claim, current, command, tx);
        await closeReservation(
          claim,
          { reservationId: action.reservationId, chargedMicros: chargedBy(step.events), reservedAt },
          tx.ledger,
        );
        commit(step);
      }
      /** What the run calls for on `current`: the loop leaves with those of the last state. */
      let actions: NextAction[];
      for (;;) {
        actions = nextActions(current.state, now);
        const action = firstDoable(actions);
        if (action?.kind === 'evaluate') {
          const step = await recordWithEvents(
            claim,
            current,
            { type: 'EvaluateStep', ...command(action.stepIndex), now },
            tx,
          );
          if (step.run.version === current.version) break;
          commit(step);
        } else if (action?.kind === 'reserve' && withReservations) {
          const reservationId = reservationIdFor(claim, action);
          const steps = await startAttemptIn(tx, current, action, reservationId, now, fenced);
          fenced = true;
          for (const step of steps) commit(step);
          // Recorded before by the same command id: another worker decided it and makes the call.
          if (steps.at(-1)!.alreadyApplied)
            return { run: current, recorded, started, takenOver: true, released: false };
          started.push(reservationId);
        } else break;
      }
      // The run ends with these events and no other call is out: its release goes with them.
      const released =
        queue.releaseAlongside !== undefined &&
        recorded.length > 0 &&
        calls.size === (finished ? 1 : 0) &&
        actions[0]?.kind === 'done';
      if (released) tx.alongside(queue.releaseAlongside!(claim.runId, owner));
      return { run: current, recorded, started, takenOver: false, released };
    }

    /**
     * Records what the run calls for now (see `chain`); false when nothing was. A reservation
     * the tenant's day has no room for rolls the transaction back: what came before it is
     * recorded again without it, and the refusal on its own.
     */
    async function transition(now: string, finished?: Finished): Promise<boolean> {
      let withReservations = true;
      let held: HeldByEmergencyStop | undefined;
      let done: Awaited<ReturnType<typeof chain>>;
      for (;;) {
        try {
          done = await deps.ledger.together((tx) => chain(tx, now, finished, withReservations));
          break;
        } catch (error) {
          if (error instanceof HeldByEmergencyStop && !paused) {
            // Held by a stop: the transition without its starts (reserves are not doable while paused).
            held = error;
            paused = true;
          } else if (withReservations && isDomainError(error) && error.code === 'BUDGET_EXCEEDED') {
            withReservations = false;
          } else throw error;
        }
      }
      const refused = !withReservations;
      for (const step of done.recorded) reportRecorded(claim, step);
      run = done.run;
      releasedWithEnd ||= done.released;
      if (finished) startedByMe.delete(finished.action.reservationId);
      for (const reservationId of done.started) startedByMe.add(reservationId);
      if (done.takenOver) throw new DomainError('WORKER_LOST', 'another worker started this attempt');
      if (held) {
        await pause(held, now);
        return true;
      }
      if (refused) {
        const action = firstDoable(nextActions(run.state, now));
        if (action?.kind === 'reserve') return (await reserveAlone(action, now)) || done.recorded.length > 0;
      }
      return done.recorded.length > 0;
    }

    function startAttempt(
      action: Extract<NextAction, { kind: 'reserve' }>,
      reservationId: string,
      now: string,
    ): RunCommand {
      return {
        type: 'StartAttempt',
        ...target(action),
        reservationId,
        reservedMicros: action.estimateMicros,
        estimateMicros: action.estimateMicros,
        now,
      };
    }

    function reserveOn(
      on: Pick<BudgetLedger, 'apply'>,
      action: Extract<NextAction, { kind: 'reserve' }>,
      reservationId: string,
      now: string,
    ) {
      return ledger(
        claim,
        {
          type: 'Reserve',
          reservationId,
          runId: claim.runId,
          amountMicros: action.estimateMicros,
          limitMicros: deps.dayLimitMicros(claim.tenantId),
          ...(action.model === undefined ? {} : { model: action.model }),
        },
        `Reserve:${reservationId}`,
        now,
        on,
      );
    }

    /** A reservation on its own, after one was refused: started, or its refusal recorded. */
    async function reserveAlone(action: Extract<NextAction, { kind: 'reserve' }>, now: string) {
      const reservationId = reservationIdFor(claim, action);
      let steps: Recorded[];
      try {
        steps = await deps.ledger.together((tx) => startAttemptIn(tx, run, action, reservationId, now));
      } catch (error) {
        if (error instanceof HeldByEmergencyStop) {
          await pause(error, now);
          return true;
        }
        if (!isDomainError(error) || error.code !== 'BUDGET_EXCEEDED') throw error;
        run = await record(claim, run, {
          type: 'RecordBudgetRefused',
          ...target(action),
          reservationId,
          requestedMicros: action.estimateMicros,
          remainingMicros: Number(error.details.remainingMicros ?? 0),
          now,
        });
        return true;
      }
      for (const step of steps) reportRecorded(claim, step);
      const started = steps.at(-1)!;
      run = started.run;
      if (started.alreadyApplied) throw new DomainError('WORKER_LOST', 'another worker started this attempt');
      startedByMe.add(reservationId);
      return true;
    }

    /**
     * An attempt's start within a transition: the emergency stop's fence first (no start commits
     * after a stop: commands/emergency-stop.ts), the run's resume if a stop had paused it, the
     * reservation, then `SkillCallStarted`. Answers what it recorded, in order.
     */
    async function startAttemptIn(
      tx: LedgerTransaction,
      from: LoadedRun,
      action: Extract<NextAction, { kind: 'reserve' }>,
      reservationId: string,
      now: string,
      fenced = false,
    ): Promise<Recorded[]> {
      if (!fenced) await emergencyStops.admit(tx, claim.tenantId);
      const steps: Recorded[] = [];
      let current = from;
      // Resumed after a stop: recorded with the first attempt it starts.
      if (isSubmitted(current.state) && current.state.paused) {
        const resumed = await recordWithEvents(claim, current, { type: 'ResumeRun', now }, tx);
        steps.push(resumed);
        current = resumed.run;
      }
      await reserveOn(tx.ledger, action, reservationId, now);
      steps.push(await recordWithEvents(claim, current, startAttempt(action, reservationId, now), tx));
      return steps;
    }

    /** A stop holds the run: no attempt starts during this claim; it is released paused. */
    async function pause(held: HeldByEmergencyStop, now: string) {
      paused = true;
      const { tenantId, at } = held.stop;
      run = await record(claim, run, { type: 'PauseRun', stop: { tenantId, at }, now });
    }

    async function startChild(action: Extract<NextAction, { kind: 'start_child' }>, now: string) {
      const { stepIndex, childRunId } = action;
      try {
        await submitChildRun(childDeps, run.state as SubmittedRun, action);
      } catch (error) {
        // Refused (its plan, the policy, its budget): the step fails, saying why.
        if (!isDomainError(error) || error.code === 'CONFLICT') throw error;
        const refusal = { errorCode: error.code, reason: error.message };
        run = await record(claim, run, {
          type: 'RecordChildRefused',
          stepIndex,
          childRunId,
          ...refusal,
          now,
        });
        return;
      }
      run = await record(claim, run, {
        type: 'StartChild',
        stepIndex,
        childRunId,
        budgetMicros: action.budgetMicros,
        now,
      });
    }

    /** A child that ended wakes its parent, which records the end and goes on. */
    async function wakeParent() {
      const parent = isSubmitted(run.state) ? run.state.submission.parent : undefined;
      if (!parent) return;
      await queue
        .enqueue([{ runId: parent.runId, tenantId: claim.tenantId, dueAt: clock() }])
        .catch(() => {});
    }

    function startCall(action: Extract<NextAction, { kind: 'call' }>) {
      const reservedAt = startedAt(run.state, action);
      const job = (async () => {
        const { outcome, latencyMs } = await callSkill(claim, run, action, lease, cancelled);
        // The outcome and the reservation's close under one lock: no attempt starts between
        // them, which is what lets the next owner find every reservation left open.
        // In one transaction too: the outcome commits with its reservation's close.
        // A failure is classified by the catalog in force when it is recorded; read before the
        // transaction, which on PGlite holds the one connection a read beside it would wait for.
        const failureCatalog = outcome.ok ? undefined : await currentFailureCatalog(store);
        await exclusive(() =>
          transition(nowIso(), {
            action,
            outcome,
            latencyMs,
            reservedAt,
            ...(failureCatalog ? { failureCatalog } : {}),
          }),
        );
      })()
        .catch((error) => {
          callError ??= error;
        })
        .finally(() => calls.delete(action.reservationId));
      calls.set(action.reservationId, job);
    }

    for (;;) {
      if (callError !== undefined || shutdown.signal.aborted) {
        await Promise.allSettled([...calls.values()]);
        if (callError !== undefined) throw callError;
        return released(claim, { dueAt: clock() });
      }
      const next = await step();
      if (next === 'continue') continue;
      if (calls.size > 0) {
        await Promise.race(calls.values());
        continue;
      }
      if (next === 'done') {
        await wakeParent();
        return released(claim, releasedWithEnd ? { done: true, written: true } : { done: true });
      }
      if (paused) {
        // Until the stop's resume makes it due (or a look after a lost wake-up, or its deadline).
        const deadline = Date.parse((run.state as SubmittedRun).submission.deadlineAt);
        const dueAt = new Date(Math.min(clock().getTime() + PAUSED_RECHECK_MS, deadline));
        return released(claim, { dueAt, paused: true });
      }
      const action = nextAction(run.state, nowIso());
      if (action.kind === 'await_child') {
        // A child's end wakes this run (the queue keeps a wake-up that came while it was held).
        return released(claim, { dueAt: new Date(clock().getTime() + childPollMs) });
      }
      // A recovery's decision wakes the run (the command enqueues it); the deadline bounds the wait.
      if (action.kind === 'wait' || action.kind === 'await_recovery') {
        return released(claim, { dueAt: new Date(action.until) });
      }
      if (action.kind === 'await_approval') {
        return released(claim, { dueAt: new Date(action.wakeAt) });
      }
      // Became doable meanwhile (its wait ended): go round again.
    }
  }

  /** Slots held for runs being submitted in this process (`taker`), not yet taken. */
  let reserved = 0;
  const freeSlots = () => concurrency - active.size - reserved;

  /** Runs submitted in this process come leased to this executor while it has a free slot. */
  const taker: LocalTaker = {
    owner,
    leaseMs,
    reserve() {
      // Runs already due and waiting for a slot (backlog) go first, by the queue's order.
      if (shutdown.signal.aborted || backlog || freeSlots() <= 0) return false;
      reserved++;
      return true;
    },
    take(claim) {
      reserved--;
      // Stopping: the run is released at once (driveRun's loop), due for whoever is next.
      void track(claim);
    },
    unreserve() {
      reserved--;
    },
  };

  /** Works on a claimed run; true when it was released as done (nothing of it is due later). */
  async function work(claim: ClaimedRun): Promise<boolean> {
    try {
      return await processRun(claim);
    } catch (error) {
      deps.log?.warn({ err: error, runId: claim.runId }, 'run processing failed; it will be retried');
      await queue.release(claim.runId, owner, { dueAt: new Date(clock().getTime() + 1000) }).catch(() => {});
      return false;
    }
  }

  /** Claims what is due and works on it; resolves when those runs are released. */
  async function runOnce(): Promise<number> {
    const free = freeSlots();
    if (free <= 0) return 0;
    const { runs } = await queue.claim(owner, clock(), leaseMs, free);
    await Promise.all(runs.map((claim) => track(claim)));
    return runs.length;
  }

  function track(claim: ClaimedRun): Promise<void> {
    const job = work(claim).then((done) => {
      active.delete(claim.runId);
      // A free slot, for runs that may be waiting for one; a run released for later, due when
      // the next claim tells. A run done with none waiting or due asks nothing of the queue.
      if (backlog || !done || (nextDueMs !== undefined && nextDueMs <= clock().getTime())) wake();
    });
    active.set(claim.runId, job);
    return job;
  }

  /**
   * Sleeping until woken — by an enqueue here or in another process, a finished run, stop —
   * or until the next run is due; `pollIntervalMs` only bounds the sleep when nothing is
   * known to be waiting (a lost wake-up). An idle executor therefore sends no query.
   */
  const alarm = wakeableSleep();
  /** Runs may be due that no slot was free for: the last claim took all it could, or a wake-up came while full. */
  let backlog = false;
  /** When the last claim said the next run becomes due (a retry's wait, another's lease). */
  let nextDueMs: number | undefined;
  function wake() {
    if (freeSlots() <= 0) backlog = true;
    alarm.wake();
  }
  /** Runs held may have been cancelled, or a stop recorded: the calls out look at their streams. */
  function lookAtHeld() {
    for (const { check } of cancelChecks.values()) check();
    emergencyStops.check();
  }
  async function loopClaims(): Promise<void> {
    // From the start: a submission right after it is taken without a claim.
    const untake = queue.takeSubmitted?.(taker);
    const unwatch = await queue.watch(wake).catch((error) => {
      deps.log?.warn({ err: error }, 'cannot watch the run queue; polling it instead');
      return undefined;
    });
    const unwatchHeld = await queue.watchHeld(lookAtHeld).catch((error) => {
      deps.log?.warn({ err: error }, 'cannot watch for cancels and stops; their calls end with them');
      return undefined;
    });
    shutdown.signal.addEventListener('abort', wake);
    try {
      while (!shutdown.signal.aborted) {
        alarm.clear();
        const free = freeSlots();
        if (free <= 0) {
          await alarm.sleep(idleWaitMs);
          continue;
        }
        const now = clock();
        const claimed = await queue.claim(owner, now, leaseMs, free).catch(() => ({
          runs: [] as ClaimedRun[],
          nextDueAt: new Date(now.getTime() + Math.min(idleWaitMs, 1000)),
        }));
        for (const claim of claimed.runs) void track(claim);
        // All slots taken: more may be due at once, so claim again when a slot frees.
        backlog = claimed.runs.length === free;
        nextDueMs = claimed.nextDueAt?.getTime();
        if (backlog) continue;
        const untilDue = claimed.nextDueAt ? claimed.nextDueAt.getTime() - clock().getTime() : idleWaitMs;
        await alarm.sleep(Math.min(untilDue, idleWaitMs));
      }
    } finally {
      untake?.();
      await unwatch?.().catch(() => {});
      await unwatchHeld?.().catch(() => {});
    }
  }

  return {
    owner,
    runOnce,
    start() {
      loop ??= loopClaims();
    },
    async stop() {
      shutdown.abort();
      await loop;
      // A submission's append under way may still lease its run here: wait for it to be taken.
      while (reserved > 0) await sleep(1);
      await Promise.allSettled([...active.values()]);
      emergencyStops.close();
    },
  };
}
