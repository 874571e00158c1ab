// The commands people send about runs: submit, cancel, approve or reject. Each is
// authorised by the caller's principal (tenant and role from the API key, never the body).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Actor } from '../domain/actor.ts';
import { DomainError } from '../domain/domain-error.ts';
import { estimatePlan } from '../domain/estimate.ts';
import { seedSchema } from '../domain/events/run-events.ts';
import { canonicalHash, deterministicUuid } from '../domain/hashing.ts';
import { skillVerdict } from '../domain/policy.ts';
import { planInputSchema, runBudgetInputSchema } from '../domain/run/commands.ts';
import { runDecider, runStreamId } from '../domain/run/decider.ts';
import type { SkillFacts } from '../domain/skill-catalog.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { type Handled, handleCommand } from './handle-command.ts';
import { type CommandMetrics, reportRunEvents } from './metrics.ts';
import { currentPolicy, currentPriceTable } from './reference-data.ts';
import type { SkillPort } from './skill-port.ts';

export const submitRunRequestSchema = z.strictObject({
  agentId: z.string().min(1).max(256),
  plan: planInputSchema,
  budget: runBudgetInputSchema,
  seed: seedSchema.optional(),
});
export type SubmitRunRequest = z.input<typeof submitRunRequestSchema>;

export interface CommandDeps {
  store: EventStore;
  skills: Pick<SkillPort, 'facts'>;
  clock: () => Date;
  metrics?: CommandMetrics;
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

export async function submitRun(
  deps: CommandDeps,
  principal: Principal,
  request: SubmitRunRequest,
  idempotencyKey?: string,
): Promise<SubmittedRunReceipt> {
  const body = submitRunRequestSchema.parse(request);
  const runId = idempotencyKey ? deterministicUuid('run', principal.tenantId, idempotencyKey) : randomUUID();
  const streamId = runStreamId(runId);
  // The command id carries the request's digest: the same key with another body is refused.
  const commandId = `submit:${canonicalHash({ tenantId: principal.tenantId, idempotencyKey, body })}`;

  const [first] = await deps.store.readStream(streamId, { limit: 1 });
  if (first) {
    if (first.metadata.commandId !== commandId || first.metadata.tenantId !== principal.tenantId) {
      throw new DomainError('CONFLICT', 'this Idempotency-Key was used before with a different request', {
        idempotencyKey,
      });
    }
  }

  const skills: Record<string, SkillFacts> = {};
  for (const step of body.plan.steps) {
    const facts = deps.skills.facts(step.skill, step.skillVersion);
    if (!facts) {
      throw new DomainError(
        'SKILL_NOT_FOUND',
        `unknown skill ${step.skill}${step.skillVersion ? `@${step.skillVersion}` : ''}`,
        {
          skill: step.skill,
        },
      );
    }
    skills[step.skill] = facts;
  }
  const [policy, priceTable] = await Promise.all([
    currentPolicy(deps.store, principal.tenantId),
    currentPriceTable(deps.store),
  ]);
  const handled = await handleCommand(
    deps.store,
    streamId,
    runDecider,
    {
      type: 'SubmitRun',
      runId,
      tenantId: principal.tenantId,
      agentId: body.agentId,
      plan: body.plan,
      budget: body.budget,
      seed: body.seed ?? Number.parseInt(canonicalHash(runId).slice(0, 8), 16),
      policy,
      priceTable,
      skills,
      now: deps.clock().toISOString(),
    },
    { commandId, metadata: metadataFor(principal, idempotencyKey ?? runId), ...metricsOf(deps) },
    // Read empty above: no second read. Had another request created it meanwhile, the append
    // (expected: no stream) would find its events or conflict, and the handler reloads.
    first ? undefined : { state: runDecider.initialState(), version: -1 },
  );
  if (deps.metrics && !handled.alreadyApplied) {
    reportRunEvents(deps.metrics, principal.tenantId, handled.state, handled.events);
  }
  return {
    runId,
    streamId,
    status: 'queued',
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

/** What a plan would cost and whether policy would let its skills run; writes nothing. */
export async function simulateRun(deps: CommandDeps, principal: Principal, request: SubmitRunRequest) {
  const body = submitRunRequestSchema.parse(request);
  const [policy, priceTable] = await Promise.all([
    currentPolicy(deps.store, principal.tenantId),
    currentPriceTable(deps.store),
  ]);
  const estimate = estimatePlan(
    body.plan.steps.map((step) => ({ skill: step.skill, input: step.input ?? {} })),
    { priceTable, maxCostMicros: body.budget.maxCostMicros },
  );
  return {
    estimate,
    withinBudget: estimate.v2.costMicros <= body.budget.maxCostMicros,
    policy: { version: policy.version, hash: policy.hash },
    priceTable: { version: priceTable.version, hash: priceTable.hash },
    steps: body.plan.steps.map((step, index) => ({
      index,
      skill: step.skill,
      known: deps.skills.facts(step.skill, step.skillVersion) !== undefined,
      policy: skillVerdict(policy.rules, step.skill) ?? { result: 'allow' },
    })),
  };
}
