// Agents and their goals. Registering an agent records its profile; a goal asks the agent's
// planner for a plan (charged to the run's budget when the planner calls a provider), records
// the proposal in the goal's stream, rejected or not, and an acceptable plan is submitted as
// any run is (submitRun, with the same Idempotency-Key) before PlanAccepted is recorded.
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { agentDecider, agentStreamId } from '../domain/agent/decider.ts';
import { goalRequestSchema, registerAgentRequestSchema } from '../domain/agent/requests.ts';
import { DomainError } from '../domain/domain-error.ts';
import type { AgentProfile } from '../domain/events/agent-events.ts';
import { canonicalHash, deterministicUuid, sha256Hex } from '../domain/hashing.ts';
import {
  type GoalState,
  goalDecider,
  goalStreamId,
  type RecordPlanning,
} from '../domain/planner/goal-decider.ts';
import { checkProposal, type PlanViolation, type SandboxVerdict } from '../domain/planner/sandbox.ts';
import { handleCommand, loadStream } from './handle-command.ts';
import type { Planners } from './planner-port.ts';
import { type PlanningDeps, proposeCharged } from './planning-charge.ts';
import { type CommandDeps, type Principal, type SubmittedRunReceipt, submitRun } from './run-commands.ts';
import { simulateRun } from './simulate-run.ts';

/** PlanProposed keeps at most this much of a planner's answer (the event's limit). */
const MAX_RAW_OUTPUT = 100_000;

export interface AgentDeps extends PlanningDeps {
  planners: Planners;
}

const metadataFor = (principal: Principal, correlationId: string) => ({
  tenantId: principal.tenantId,
  actor: `${principal.actor.role}:${principal.actor.id}`,
  correlationId,
});

export async function registerAgent(
  deps: CommandDeps,
  principal: Principal,
  request: z.input<typeof registerAgentRequestSchema>,
  idempotencyKey?: string,
) {
  const profile = registerAgentRequestSchema.parse(request);
  const agentId = idempotencyKey
    ? deterministicUuid('agent', principal.tenantId, idempotencyKey)
    : randomUUID();
  const handled = await handleCommand(
    deps.store,
    agentStreamId(principal.tenantId, agentId),
    agentDecider,
    { type: 'RegisterAgent', agentId, profile, now: deps.clock().toISOString() },
    {
      commandId: `agent:${canonicalHash({ tenantId: principal.tenantId, idempotencyKey: idempotencyKey ?? agentId, profile })}`,
      metadata: metadataFor(principal, agentId),
    },
  );
  return { agentId, profile: handled.state.profile!, created: !handled.alreadyApplied };
}

/** The agent's profile, or null (the stream id carries the tenant: never another tenant's). */
export async function registeredAgent(
  deps: Pick<CommandDeps, 'store'>,
  tenantId: string,
  agentId: string,
): Promise<AgentProfile | null> {
  const { state } = await loadStream(deps.store, agentStreamId(tenantId, agentId), agentDecider);
  return state.profile;
}

/** The agent's profile, or NOT_FOUND. */
export async function agentProfile(
  deps: CommandDeps,
  tenantId: string,
  agentId: string,
): Promise<AgentProfile> {
  const profile = await registeredAgent(deps, tenantId, agentId);
  if (!profile) throw new DomainError('NOT_FOUND', `no agent ${agentId}`);
  return profile;
}

export type GoalOutcome =
  | { accepted: true; receipt: SubmittedRunReceipt }
  | { accepted: false; runId: string; violations: PlanViolation[] };

type GoalRequest = z.output<typeof goalRequestSchema>;

/** The sandbox's checks of a proposal's text: pure, so the recorded text always judges the same. */
const sandboxed = (
  deps: CommandDeps,
  rawOutput: string,
  profile: AgentProfile,
  budget: { maxSteps: number },
) =>
  checkProposal(rawOutput, profile, { maxSteps: budget.maxSteps }, (skill) =>
    Boolean(deps.skills.facts(skill)),
  );

/**
 * Inputs, cost and policy of an otherwise valid plan, as simulate sees them (the checks
 * submission and execution make): its reasons are violations.
 */
async function budgetAndPolicyViolations(
  deps: CommandDeps,
  principal: Principal,
  submission: Parameters<typeof simulateRun>[2],
): Promise<PlanViolation[]> {
  const simulation = await simulateRun(deps, principal, submission);
  return simulation.reasons.map((message) => ({ path: 'plan', message }));
}

/** What the run may still spend once planning is paid. */
const afterPlanning = (budget: GoalRequest['budget'] & {}, chargedMicros: number) => ({
  ...budget,
  maxCostMicros: Math.max(0, budget.maxCostMicros - chargedMicros),
});

/** Asks the planner and judges its proposal: the command that records the goal's planning. */
async function planGoal(
  deps: AgentDeps,
  principal: Principal,
  agentId: string,
  runId: string,
  profile: AgentProfile,
  body: GoalRequest,
): Promise<RecordPlanning> {
  const budget = body.budget ?? profile.defaultBudget;
  const { proposal, charge } = await proposeCharged(
    deps,
    principal,
    runId,
    deps.planners[profile.planner],
    { goal: body.goal, input: body.input, profile },
    budget.maxCostMicros,
  );
  const rawOutput = proposal.rawOutput.slice(0, MAX_RAW_OUTPUT);
  let verdict: SandboxVerdict = sandboxed(deps, rawOutput, profile, budget);
  if (verdict.plan) {
    const violations = await budgetAndPolicyViolations(deps, principal, {
      agentId,
      plan: verdict.plan,
      budget: afterPlanning(budget, charge?.chargedMicros ?? 0),
      ...(body.input ? { input: body.input } : {}),
    });
    if (violations.length > 0) verdict = { violations };
  }
  return {
    type: 'RecordPlanning',
    request: { runId, agentId, goal: body.goal, planner: profile.planner, at: deps.clock().toISOString() },
    proposal: {
      planner: profile.planner,
      version: proposal.version,
      promptHash: sha256Hex(proposal.prompt),
      rawOutput,
      ...(charge ? { charge } : {}),
    },
    ...(verdict.plan ? {} : { violations: verdict.violations }),
  };
}

/**
 * The plan of a recorded, unrejected proposal: the accepted one, else the proposal's text
 * judged again by the pure sandbox (what it was judged by before it was recorded).
 */
function plannedPlan(
  deps: CommandDeps,
  state: GoalState,
  profile: AgentProfile,
  budget: { maxSteps: number },
) {
  if (state.plan) return state.plan;
  const verdict = sandboxed(deps, state.proposal!.rawOutput, profile, budget);
  if (!verdict.plan) throw new DomainError('CONFLICT', 'the recorded proposal no longer passes the sandbox');
  return verdict.plan;
}

export async function submitGoal(
  deps: AgentDeps,
  principal: Principal,
  agentId: string,
  request: z.input<typeof goalRequestSchema>,
  idempotencyKey?: string,
): Promise<GoalOutcome> {
  const body = goalRequestSchema.parse(request);
  const profile = await agentProfile(deps, principal.tenantId, agentId);
  // The run id follows the key exactly as POST /v1/runs derives it, so submitRun below
  // writes the run this goal's stream names; without a key the goal gets a fresh one.
  const key = idempotencyKey ?? `goal-${randomUUID()}`;
  const runId = deterministicUuid('run', principal.tenantId, key);
  const streamId = goalStreamId(runId);
  const commandId = `goal:${canonicalHash({ tenantId: principal.tenantId, agentId, key, body })}`;
  const context = (suffix: string) => ({
    commandId: `${commandId}${suffix}`,
    metadata: metadataFor(principal, runId),
  });

  const recorded = await loadStream(deps.store, streamId, goalDecider);
  const first = recorded.recorded[0];
  if (first && !first.metadata.commandId?.startsWith(commandId)) {
    throw new DomainError('CONFLICT', 'this Idempotency-Key was used before with a different request', {
      idempotencyKey,
    });
  }
  // Planned already (a retry): the record decides, the planner is not asked again.
  let state: GoalState = recorded.state;
  if (!state.request) {
    const command = await planGoal(deps, principal, agentId, runId, profile, body);
    state = (await handleCommand(deps.store, streamId, goalDecider, command, context(''))).state;
  }
  if (state.violations) return { accepted: false, runId, violations: state.violations };
  const budget = body.budget ?? profile.defaultBudget;
  const plan = plannedPlan(deps, state, profile, budget);
  const receipt = await submitRun(
    deps,
    principal,
    { agentId, plan, budget, ...(body.input ? { input: body.input } : {}) },
    key,
    state.proposal?.charge?.chargedMicros,
  );
  // After the run exists, never before: a crash in between leaves a proposal a retry accepts.
  await handleCommand(deps.store, streamId, goalDecider, { type: 'AcceptPlan', plan }, context(':accepted'));
  return { accepted: true, receipt };
}
