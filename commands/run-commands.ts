// The commands people send about runs: submit, cancel, approve or reject. Each is
// authorised by the caller's principal (tenant and role from the API key, never the body).
import { randomUUID } from 'node:crypto';
import type { Actor } from '../domain/actor.ts';
import { DomainError } from '../domain/domain-error.ts';
import { canonicalHash, deterministicUuid } from '../domain/hashing.ts';
import { runDecider, runStreamId } from '../domain/run/decider.ts';
import { type SubmitRunRequest, submitRunRequestSchema } from '../domain/run/submit-request.ts';
import type { SkillFacts } from '../domain/skill-catalog.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { estimateBasis } from './estimator-breaker.ts';
import {
  type AppendDecided,
  type CommandContext,
  type Handled,
  handleCommand,
  type Loaded,
} from './handle-command.ts';
import { type CommandMetrics, reportRunEvents } from './metrics.ts';
import { currentPriceTable, policyInForce } from './reference-data.ts';
import type { RunQueue } from './run-queue.ts';
import type { SkillPort } from './skill-port.ts';
import { calledSkills, refuseInvalidPlan, validatePlanForSubmission } from './validate-submission.ts';

export interface CommandDeps {
  store: EventStore;
  skills: Pick<SkillPort, 'facts' | 'resolve' | 'list'>;
  clock: () => Date;
  metrics?: CommandMetrics;
  /**
   * The executors' queue: a submitted run (and one whose approval was decided or whose
   * cancellation was asked) is made due right after its events are appended, so execution
   * never waits for the gap-free reader (the run-queue feeder remains the safety net).
   */
  runs?: Pick<RunQueue, 'enqueue' | 'appendDue' | 'handOver'>;
  /** The installation's exemptions from the local-address rule (AOS_HTTP_ALLOW_HOSTS); see policyInForce. */
  localAllowHosts?: readonly string[];
}

/** Makes the run due now; a failure leaves it to the feeder, which reads the same events. */
export async function makeDue(deps: CommandDeps, runId: string, tenantId: string): Promise<void> {
  await deps.runs?.enqueue([{ runId, tenantId, dueAt: deps.clock() }]).catch(() => {});
}

export interface Principal {
  tenantId: string;
  actor: Actor;
}

export interface SubmittedRunReceipt {
  runId: string;
  streamId: string;
  status: string;
  position: string;
  /** False when the same Idempotency-Key had already submitted this run. */
  created: boolean;
}

const metricsOf = (deps: CommandDeps) => (deps.metrics ? { metrics: deps.metrics } : {});

const metadataFor = (principal: Principal, correlationId: string) => ({
  tenantId: principal.tenantId,
  actor: `${principal.actor.role}:${principal.actor.id}`,
  correlationId,
});

/** A submission as submitRunRequestSchema parses it (the route's body is parsed already). */
export type SubmitRunBody = ReturnType<typeof submitRunRequestSchema.parse>;

/** What a submission records besides the request: who and where from. */
export interface SubmissionTarget {
  runId: string;
  tenantId: string;
  body: SubmitRunBody & { seed: number | string };
  context: Pick<CommandContext, 'commandId' | 'metadata'>;
  /** A child run: the run and step that start it, and its depth. */
  parent?: { runId: string; stepIndex: number; depth: number };
  /** A planned goal's run: what planning was charged (never a client's to set). */
  planningMicros?: number;
  known?: Loaded<ReturnType<typeof runDecider.initialState>>;
  /** How the run's events are written (default: `store.append`). */
  append?: AppendDecided;
}

/**
 * Checks the plan against the skills, snapshots the tenant's policy and the price table,
 * and records SubmitRun. One path for every run, whether a person or a parent run starts it.
 */
export async function recordSubmission(deps: CommandDeps, target: SubmissionTarget) {
  const { body, tenantId, runId } = target;
  refuseInvalidPlan(validatePlanForSubmission(body.plan, deps.skills));
  const skills: Record<string, SkillFacts> = {};
  for (const called of calledSkills(body.plan)) {
    skills[called.skill] = deps.skills.facts(called.skill, called.skillVersion)!;
  }
  const [policy, priceTable, basis] = await Promise.all([
    policyInForce(deps, tenantId),
    currentPriceTable(deps.store),
    estimateBasis(deps.store),
  ]);
  return handleCommand(
    deps.store,
    runStreamId(runId),
    runDecider,
    {
      type: 'SubmitRun',
      runId,
      tenantId,
      agentId: body.agentId,
      plan: body.plan,
      ...(body.input === undefined ? {} : { input: body.input }),
      ...(target.parent === undefined ? {} : { parent: target.parent }),
      ...(target.planningMicros === undefined ? {} : { planningMicros: target.planningMicros }),
      ...(basis.note === undefined
        ? {}
        : { estimateBasis: { estimator: basis.estimator, note: basis.note } }),
      budget: body.budget,
      seed: body.seed,
      policy,
      priceTable,
      skills,
      now: deps.clock().toISOString(),
    },
    { ...target.context, ...metricsOf(deps) },
    target.known,
    target.append,
  );
}

export async function submitRun(
  deps: CommandDeps,
  principal: Principal,
  request: SubmitRunRequest,
  idempotencyKey?: string,
  /** A planned goal's run: what planning was charged (never a client's to set). */
  planningMicros?: number,
): Promise<SubmittedRunReceipt> {
  return submitParsedRun(
    deps,
    principal,
    submitRunRequestSchema.parse(request),
    idempotencyKey,
    planningMicros,
  );
}

/** `submitRun` of a request parsed already: the schema is not checked twice. */
export async function submitParsedRun(
  deps: CommandDeps,
  principal: Principal,
  body: SubmitRunBody,
  idempotencyKey?: string,
  planningMicros?: number,
): Promise<SubmittedRunReceipt> {
  const runId = idempotencyKey ? deterministicUuid('run', principal.tenantId, idempotencyKey) : randomUUID();
  const streamId = runStreamId(runId);
  // The command id carries the request's digest: the same key with another body is refused.
  const commandId = `submit:${canonicalHash({ tenantId: principal.tenantId, idempotencyKey, body })}`;

  // A new random run id names no stream yet: only a keyed submission may find its run recorded.
  const [first] = idempotencyKey ? await deps.store.readStream(streamId, { limit: 1 }) : [];
  if (first) {
    if (first.metadata.commandId !== commandId || first.metadata.tenantId !== principal.tenantId) {
      throw new DomainError('CONFLICT', 'this Idempotency-Key was used before with a different request', {
        idempotencyKey,
      });
    }
  }

  // The run made due by its append's own statement when the queue can (appendDue), else after it.
  const appendDue = deps.runs?.appendDue;
  let due = false;
  const append: AppendDecided | undefined =
    appendDue &&
    (async (id, events, options) => {
      const result = await appendDue(id, events, options, {
        runId,
        tenantId: principal.tenantId,
        dueAt: deps.clock(),
      });
      due = true;
      return result;
    });
  const handled = await recordSubmission(deps, {
    runId,
    tenantId: principal.tenantId,
    body: { ...body, seed: body.seed ?? Number.parseInt(canonicalHash(runId).slice(0, 8), 16) },
    context: { commandId, metadata: metadataFor(principal, idempotencyKey ?? runId) },
    ...(planningMicros === undefined ? {} : { planningMicros }),
    // Read empty above: no second read. Had another request created it meanwhile, the append
    // (expected: no stream) would find its events or conflict, and the handler reloads.
    known: first ? undefined : { state: runDecider.initialState(), version: -1 },
    ...(append === undefined ? {} : { append }),
  });
  if (deps.metrics && !handled.alreadyApplied) {
    reportRunEvents(deps.metrics, principal.tenantId, handled.state, handled.events);
  }
  // A resubmission found recorded without appending is made due here, as before.
  if (!due) await makeDue(deps, runId, principal.tenantId);
  else if (!handled.alreadyApplied)
    deps.runs?.handOver?.(runId, {
      state: handled.state,
      version: handled.version,
      at: deps.clock().getTime(),
    });
  return {
    runId,
    streamId,
    // A resubmission (same Idempotency-Key) reports where the run is now, not where it began.
    status: handled.alreadyApplied && handled.state.status !== 'none' ? handled.state.status : 'queued',
    position: handled.lastPosition!,
    created: !handled.alreadyApplied,
  };
}

async function onRun(
  deps: CommandDeps,
  principal: Principal,
  runId: string,
  command: Parameters<typeof runDecider.decide>[0],
  commandId: string,
): Promise<Handled<ReturnType<typeof runDecider.initialState>, unknown>> {
  const streamId = runStreamId(runId);
  const info = await deps.store.streamInfo(streamId).catch(() => null);
  // Another tenant's run does not exist for this caller.
  if (!info || info.tenantId !== principal.tenantId) throw new DomainError('NOT_FOUND', `no run ${runId}`);
  const handled = await handleCommand(deps.store, streamId, runDecider, command, {
    commandId,
    metadata: metadataFor(principal, runId),
    ...metricsOf(deps),
  });
  if (deps.metrics && !handled.alreadyApplied) {
    reportRunEvents(deps.metrics, principal.tenantId, handled.state, handled.events);
  }
  if (handled.events.length > 0) await makeDue(deps, runId, principal.tenantId);
  return handled;
}

export async function cancelRun(
  deps: CommandDeps,
  principal: Principal,
  runId: string,
  reason: string,
  idempotencyKey?: string,
) {
  return onRun(
    deps,
    principal,
    runId,
    { type: 'RequestCancel', actor: principal.actor, reason, now: deps.clock().toISOString() },
    `cancel:${runId}:${idempotencyKey ?? randomUUID()}`,
  );
}

export async function decideApproval(
  deps: CommandDeps,
  principal: Principal,
  runId: string,
  approvalId: string,
  decision: 'approve' | 'reject',
  comment?: string,
) {
  return onRun(
    deps,
    principal,
    runId,
    {
      type: 'DecideApproval',
      approvalId,
      decision,
      actor: principal.actor,
      ...(comment === undefined ? {} : { comment }),
      now: deps.clock().toISOString(),
    },
    `approval:${approvalId}:${decision}`,
  );
}

export async function decideRecovery(
  deps: CommandDeps,
  principal: Principal,
  runId: string,
  recoveryId: string,
  decision: 'accept' | 'reject',
  comment?: string,
) {
  return onRun(
    deps,
    principal,
    runId,
    {
      type: 'DecideRecovery',
      recoveryId,
      decision,
      actor: principal.actor,
      ...(comment === undefined ? {} : { comment }),
      now: deps.clock().toISOString(),
    },
    `recovery:${recoveryId}:${decision}`,
  );
}
