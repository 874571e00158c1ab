// The executor: the process manager that drives runs. It claims due runs from the queue
// under a lease, asks the run decider what to do next (nextAction), does it — reserve
// budget, call a skill, wait — and reports each observation back as a command, so every
// step is an event before the next one starts. Several executors, in one process or many,
// share the queue; the lease and the expected-version appends keep any attempt from
// running twice. A run found with a call in flight when claimed lost its worker: the
// attempt is recorded WORKER_LOST and retried under the policy.
import { randomUUID } from 'node:crypto';
import { budgetLedgerDecider, budgetStreamId, type LedgerState } from '../domain/budget/ledger.ts';
import { DomainError, isDomainError } from '../domain/domain-error.ts';
import type { RunEvent } from '../domain/events/run-events.ts';
import { deterministicUuid } from '../domain/hashing.ts';
import { type AttemptReservation, latestFinishedAttemptReservation } from '../domain/run/closed-attempt.ts';
import type { RunCommand } from '../domain/run/commands.ts';
import { nextAction, type RunState, runDecider, runStreamId } from '../domain/run/decider.ts';
import type { SkillOutcome } from '../domain/skill.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { handleCommand, type Loaded, loadStream } from './handle-command.ts';
import { type CommandMetrics, noopMetrics, reportRunEvents } from './metrics.ts';
import type { ClaimedRun, RunQueue } from './run-queue.ts';
import type { SkillPort } from './skill-port.ts';

export interface ExecutorDeps {
  store: EventStore;
  queue: RunQueue;
  skills: SkillPort;
  clock: () => Date;
  /** The tenant's spending limit per UTC day, in micro-dollars. */
  dayLimitMicros: (tenantId: string) => number;
  log?: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
  metrics?: CommandMetrics;
}

export interface ExecutorOptions {
  /** Identifies this worker in leases. */
  owner?: string;
  leaseMs?: number;
  /** Runs worked on at once. */
  concurrency?: number;
  pollIntervalMs?: number;
  /** Upper bound of one skill call; the run's deadline may shorten it. */
  skillTimeoutMs?: number;
}

type LoadedRun = Loaded<RunState>;

/** When the attempt in flight was started (and its reservation made). */
function startedAt(state: RunState): string {
  if (!('phase' in state) || state.phase.kind !== 'in_flight') throw new Error('no attempt in flight');
  return state.phase.startedAt;
}

function chargedBy(events: readonly RunEvent[]): number {
  return events.reduce((sum, e) => sum + (e.type === 'CostCharged' ? e.data.chargedMicros : 0), 0);
}

export function createExecutor(deps: ExecutorDeps, options: ExecutorOptions = {}) {
  const owner = options.owner ?? `executor-${randomUUID()}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const concurrency = options.concurrency ?? 8;
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const skillTimeoutMs = options.skillTimeoutMs ?? 30_000;
  const { store, queue, skills, clock } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const active = new Map<string, Promise<void>>();
  const shutdown = new AbortController();
  let loop: Promise<void> | undefined;

  const nowIso = () => clock().toISOString();

  async function record(claim: ClaimedRun, run: LoadedRun, command: RunCommand): Promise<LoadedRun> {
    return (await recordWithEvents(claim, run, command)).run;
  }

  async function recordWithEvents(claim: ClaimedRun, run: LoadedRun, command: RunCommand) {
    const handled = await handleCommand(
      store,
      runStreamId(claim.runId),
      runDecider,
      command,
      {
        commandId: `${claim.runId}@${run.version}:${command.type}`,
        metadata: { tenantId: claim.tenantId, actor: `executor:${owner}`, correlationId: claim.runId },
        metrics,
      },
      run,
    );
    if (!handled.alreadyApplied) reportRunEvents(metrics, claim.tenantId, handled.state, handled.events);
    return { run: { state: handled.state, version: handled.version }, events: handled.events };
  }

  /**
   * Each tenant's budget day as last seen here. A day ledger grows by two events per attempt
   * of every run of the tenant; caught up from this point, a reservation reads only what
   * was appended since instead of the whole day. Other writers are no risk: it is always
   * brought to the head before deciding, and the append checks the version.
   */
  const ledgers = new Map<string, Loaded<LedgerState>>();
  const MAX_CACHED_LEDGERS = 1000;

  /** `reservedAt` names the day: a reservation is settled in the ledger it was made in. */
  async function ledger(
    claim: ClaimedRun,
    command: Parameters<typeof budgetLedgerDecider.decide>[0],
    commandId: string,
    reservedAt: string,
  ) {
    const streamId = budgetStreamId(claim.tenantId, reservedAt);
    const cached = ledgers.get(streamId);
    const current = await loadStream(store, streamId, budgetLedgerDecider, cached);
    // The events read now may hold this very command (an executor that died after recording it).
    const earlier = current.recorded.some((e) => e.metadata.commandId === commandId);
    const handled = earlier
      ? current
      : await handleCommand(
          store,
          streamId,
          budgetLedgerDecider,
          command,
          {
            commandId,
            metadata: { tenantId: claim.tenantId, actor: `executor:${owner}`, correlationId: claim.runId },
            metrics,
          },
          current,
        );
    // Concurrent commands of this executor may finish out of order: keep the newest.
    if ((ledgers.get(streamId)?.version ?? -1) < handled.version) {
      ledgers.delete(streamId);
      if (ledgers.size >= MAX_CACHED_LEDGERS) ledgers.delete(ledgers.keys().next().value!);
      ledgers.set(streamId, { state: handled.state, version: handled.version });
    }
  }

  /** Settles the attempt's reservation at what it was charged, or releases it if nothing was. */
  async function closeReservation(claim: ClaimedRun, reservation: AttemptReservation) {
    const { reservationId, chargedMicros, reservedAt } = reservation;
    const command =
      chargedMicros > 0
        ? { type: 'Settle' as const, reservationId, actualMicros: chargedMicros }
        : { type: 'Release' as const, reservationId };
    await ledger(claim, command, `${command.type}:${reservationId}`, reservedAt);
  }

  async function callSkill(
    claim: ClaimedRun,
    run: LoadedRun,
    action: Extract<ReturnType<typeof nextAction>, { kind: 'call' }>,
  ) {
    const state = run.state as Extract<RunState, { submission: unknown }>;
    const deadlineMs = Date.parse(state.submission.deadlineAt) - clock().getTime();
    const lease = new AbortController();
    const renewal = setInterval(() => {
      queue.renew(claim.runId, owner, clock(), leaseMs).then(
        (held) => held || lease.abort(new Error('lease lost')),
        () => {},
      );
    }, leaseMs / 3);
    const started = clock().getTime();
    try {
      const outcome: SkillOutcome = await skills.invoke({
        skill: action.skill,
        ...(action.skillVersion === undefined ? {} : { skillVersion: action.skillVersion }),
        input: action.input,
        tenantId: claim.tenantId,
        runId: claim.runId,
        stepIndex: action.stepIndex,
        attempt: action.attempt,
        seed: state.submission.seed,
        idempotencyKey: `${claim.runId}:${action.stepIndex}`,
        timeoutMs: Math.max(1, Math.min(skillTimeoutMs, deadlineMs)),
        signal: AbortSignal.any([lease.signal, shutdown.signal]),
      });
      // Given up mid-call (lease lost, or this process is stopping): record nothing. The
      // attempt stays in flight, and whoever claims the run next records it WORKER_LOST.
      if (lease.signal.aborted || shutdown.signal.aborted) {
        throw new DomainError('WORKER_LOST', 'the call was abandoned before its outcome was recorded');
      }
      return { outcome, latencyMs: Math.max(0, clock().getTime() - started) };
    } finally {
      clearInterval(renewal);
    }
  }

  async function processRun(claim: ClaimedRun): Promise<void> {
    const loaded = await loadStream(store, runStreamId(claim.runId), runDecider);
    let run: LoadedRun = loaded;
    // A previous owner may have recorded an outcome and died before closing its reservation.
    const finished = latestFinishedAttemptReservation(loaded.events);
    if (finished) await closeReservation(claim, finished);
    let startedByMe: string | undefined;
    for (;;) {
      if (shutdown.signal.aborted) return queue.release(claim.runId, owner, { dueAt: clock() });
      const now = nowIso();
      if (run.state.status === 'none') return queue.release(claim.runId, owner, { done: true });
      const action = nextAction(run.state, now);
      switch (action.kind) {
        case 'done':
          return queue.release(claim.runId, owner, { done: true });
        case 'wait':
          return queue.release(claim.runId, owner, { dueAt: new Date(action.until) });
        case 'await_approval':
          return queue.release(claim.runId, owner, { dueAt: new Date(action.expiresAt) });
        case 'evaluate':
          run = await record(claim, run, { type: 'EvaluateStep', now });
          break;
        case 'expire_approval':
          run = await record(claim, run, { type: 'ExpireApproval', now });
          break;
        case 'reserve': {
          const reservationId = deterministicUuid(
            'reservation',
            claim.runId,
            action.stepIndex,
            action.attempt,
          );
          try {
            await ledger(
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
            );
          } catch (error) {
            if (!isDomainError(error) || error.code !== 'BUDGET_EXCEEDED') throw error;
            run = await record(claim, run, {
              type: 'RecordBudgetRefused',
              reservationId,
              requestedMicros: action.estimateMicros,
              remainingMicros: Number(error.details.remainingMicros ?? 0),
              now,
            });
            break;
          }
          run = await record(claim, run, {
            type: 'StartAttempt',
            reservationId,
            reservedMicros: action.estimateMicros,
            estimateMicros: action.estimateMicros,
            now,
          });
          startedByMe = reservationId;
          break;
        }
        case 'call': {
          if (startedByMe !== action.reservationId) {
            // Started by a worker whose lease has expired: its outcome is unknown.
            const reservedAt = startedAt(run.state);
            run = await record(claim, run, { type: 'RecordWorkerLost', now });
            await closeReservation(claim, {
              reservationId: action.reservationId,
              chargedMicros: 0,
              reservedAt,
            });
            break;
          }
          const reservedAt = startedAt(run.state);
          const { outcome, latencyMs } = await callSkill(claim, run, action);
          const recorded = await recordWithEvents(claim, run, {
            type: 'RecordOutcome',
            outcome,
            latencyMs,
            now: nowIso(),
          });
          run = recorded.run;
          startedByMe = undefined;
          await closeReservation(claim, {
            reservationId: action.reservationId,
            chargedMicros: chargedBy(recorded.events),
            reservedAt,
          });
          break;
        }
      }
    }
  }

  async function work(claim: ClaimedRun): Promise<void> {
    try {
      await processRun(claim);
    } catch (error) {
      deps.log?.warn({ err: error, runId: claim.runId }, 'run processing failed; it will be retried');
      await queue.release(claim.runId, owner, { dueAt: new Date(clock().getTime() + 1000) }).catch(() => {});
    }
  }

  /** Claims what is due and works on it; resolves when those runs are released. */
  async function runOnce(): Promise<number> {
    const free = concurrency - active.size;
    if (free <= 0) return 0;
    const claims = await queue.claim(owner, clock(), leaseMs, free);
    await Promise.all(claims.map((claim) => track(claim)));
    return claims.length;
  }

  function track(claim: ClaimedRun): Promise<void> {
    const job = work(claim).finally(() => active.delete(claim.runId));
    active.set(claim.runId, job);
    return job;
  }

  return {
    owner,
    runOnce,
    start() {
      loop ??= (async () => {
        while (!shutdown.signal.aborted) {
          const free = concurrency - active.size;
          const claims =
            free > 0 ? await queue.claim(owner, clock(), leaseMs, free).catch(() => [] as ClaimedRun[]) : [];
          for (const claim of claims) void track(claim);
          if (claims.length === 0) {
            await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
          }
        }
      })();
    },
    async stop() {
      shutdown.abort();
      await loop;
      await Promise.allSettled([...active.values()]);
    },
  };
}
