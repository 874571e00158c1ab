// Child runs as the executor starts, watches and cancels them. A child is an ordinary run
// (its own stream, queue entry and decider) whose RunSubmitted names its parent; these are
// the commands the parent's executor sends to the child's stream. Each is idempotent, so an
// executor that dies between the child's command and the parent's record repeats it safely.
import { z } from 'zod';
import { DomainError } from '../domain/domain-error.ts';
import type { RunEvent } from '../domain/events/run-events.ts';
import { canonicalHash } from '../domain/hashing.ts';
import { childRunInputSchema } from '../domain/plan/child-run-input.ts';
import { runDecider, runStreamId } from '../domain/run/decider.ts';
import type { NextAction } from '../domain/run/next-action.ts';
import type { SubmittedRun } from '../domain/run/state.ts';
import { submitRunRequestSchema } from '../domain/run/submit-request.ts';
import { instantMs } from '../domain/time.ts';
import { handleCommand, toDomainEvent } from './handle-command.ts';
import { type CommandDeps, makeDue, recordSubmission } from './run-commands.ts';

type StartChildAction = Extract<NextAction, { kind: 'start_child' }>;

const metadataFor = (parent: SubmittedRun) => ({
  tenantId: parent.submission.tenantId,
  actor: `run:${parent.submission.runId}`,
  correlationId: parent.submission.parent?.runId ?? parent.submission.runId,
  causationId: parent.submission.runId,
});

/** The child's request, or INVALID_INPUT naming the field (its references resolved now). */
function childRequest(action: StartChildAction) {
  const parsed = childRunInputSchema.safeParse(action.request);
  if (parsed.success) return parsed.data;
  const listed = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
  throw new DomainError('INVALID_INPUT', `the child run's request is invalid: ${listed}`, {
    issues: z.treeifyError(parsed.error),
  });
}

/**
 * Submits the child of an agent_invoke / agent_spawn step with the budget carved for it and a
 * deadline within the parent's, and makes it due. Throws the DomainError that refuses it.
 */
export async function submitChildRun(deps: CommandDeps, parent: SubmittedRun, action: StartChildAction) {
  const request = childRequest(action);
  const left = instantMs(parent.submission.deadlineAt) - deps.clock().getTime();
  const deadlineMs = Math.max(1, Math.min(request.budget?.deadlineMs ?? left, left));
  const body = submitRunRequestSchema.parse({
    agentId: request.agentId,
    plan: request.plan,
    ...(request.input === undefined ? {} : { input: request.input }),
    budget: {
      maxCostMicros: action.budgetMicros,
      deadlineMs,
      ...(request.budget?.maxSteps === undefined ? {} : { maxSteps: request.budget.maxSteps }),
    },
  });
  const { tenantId, runId } = parent.submission;
  await recordSubmission(deps, {
    runId: action.childRunId,
    tenantId,
    body: { ...body, seed: Number.parseInt(canonicalHash(action.childRunId).slice(0, 8), 16) },
    context: { commandId: `child:${action.childRunId}`, metadata: metadataFor(parent) },
    parent: { runId, stepIndex: action.stepIndex, depth: (parent.submission.parent?.depth ?? 0) + 1 },
  });
  await makeDue(deps, action.childRunId, tenantId);
}

/** How a child ended, or undefined while it has not: RunCompleted is always a run's last event. */
export async function childRunEnd(deps: Pick<CommandDeps, 'store'>, childRunId: string) {
  const streamId = runStreamId(childRunId);
  const info = await deps.store.streamInfo(streamId);
  if (!info) return undefined;
  const [last] = await deps.store.readStream(streamId, { from: info.version, limit: 1 });
  const ended = last && toDomainEvent<RunEvent>(last);
  if (ended?.type !== 'RunCompleted') return undefined;
  const { status, reason, chargedMicros, output } = ended.data;
  return { status, reason, chargedMicros, ...(output === undefined ? {} : { output }) };
}

/** Asks a child to cancel because its parent is ending; the child ends at its next boundary. */
export async function cancelChildRun(deps: CommandDeps, parent: SubmittedRun, childRunId: string) {
  const handled = await handleCommand(
    deps.store,
    runStreamId(childRunId),
    runDecider,
    {
      type: 'RequestCancel',
      actor: { id: `run:${parent.submission.runId}`, role: 'system' },
      reason: `its parent run ${parent.submission.runId} is ending`,
      now: deps.clock().toISOString(),
    },
    { commandId: `cancel-child:${childRunId}`, metadata: metadataFor(parent) },
  ).catch((error: unknown) => {
    // Ended meanwhile: nothing to cancel, and its end is what the parent waits for.
    if (error instanceof DomainError && error.code === 'CONFLICT') return undefined;
    throw error;
  });
  if (handled && handled.events.length > 0) await makeDue(deps, childRunId, parent.submission.tenantId);
}
