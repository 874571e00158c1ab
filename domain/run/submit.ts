// SubmitRun: validate the plan, snapshot the policy and price table, estimate, and either
// refuse (nothing written) or record RunSubmitted + RunEstimated.
import type { z } from 'zod';
import { DomainError } from '../domain-error.ts';
import { estimatePlan } from '../estimate.ts';
import type { RecordedPlan, RecordedStep } from '../events/run-events.ts';
import { normalizedSteps, planGraph } from '../plan/graph.ts';
import { usesPlanV2 } from '../plan/schema.ts';
import { validatePlan } from '../plan/validate.ts';
import { policyHash, skillVerdict } from '../policy.ts';
import { priceTableHash } from '../pricing.ts';
import { resolveRetryPolicy } from '../retry.ts';
import { builtinDefaultRetry, stepSideEffecting } from '../skill-catalog.ts';
import { instantMs, isoFromMs } from '../time.ts';
import { type ParsedSubmitRun, type SubmitRun, submitRunSchema } from './commands.ts';
import { runEvent } from './emit.ts';
import type { RunState } from './state.ts';

function zodIssues(error: z.ZodError) {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

function parseSubmitRun(command: SubmitRun): ParsedSubmitRun {
  const parsed = submitRunSchema.safeParse(command);
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error);
  const listed = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw new DomainError('INVALID_INPUT', `invalid run submission: ${listed}`, { issues });
}

/** The effective retry policy: the skill's default (from the registry, else built in) and the override. */
function effectiveRetry(
  command: ParsedSubmitRun,
  skill: string,
  override: ParsedSubmitRun['plan']['steps'][number]['retry'],
  path: string,
) {
  const facts = command.skills?.[skill];
  try {
    return resolveRetryPolicy(facts?.defaultRetry ?? builtinDefaultRetry(skill), override);
  } catch {
    throw new DomainError('INVALID_INPUT', `${path}: the retry override makes an invalid policy`, {
      path,
      retry: override,
    });
  }
}

/** A v2 step records its id and dependencies with their defaults filled in; a v1 step has neither. */
function resolveStep(
  command: ParsedSubmitRun,
  step: ReturnType<typeof normalizedSteps<ParsedSubmitRun['plan']['steps'][number]>>[number],
  index: number,
  v2: boolean,
) {
  const facts = command.skills?.[step.skill];
  const resolved: RecordedStep = {
    skill: step.skill,
    input: step.input,
    retry: effectiveRetry(command, step.skill, step.retry, `step ${index}`),
    onFailure: step.onFailure,
    sideEffecting: stepSideEffecting(step, facts),
  };
  if (step.skillVersion !== undefined) resolved.skillVersion = step.skillVersion;
  if (!v2) return resolved;
  const recorded: RecordedStep = { id: step.id, ...resolved, dependsOn: step.dependsOn };
  if (step.when !== undefined) recorded.when = step.when;
  if (step.compensate) {
    const { skill, skillVersion, input, retry } = step.compensate;
    recorded.compensate = {
      skill,
      ...(skillVersion === undefined ? {} : { skillVersion }),
      input,
      retry: effectiveRetry(command, skill, retry, `step ${index} compensation`),
    };
  }
  return recorded;
}

/** Refuses a plan whose graph or references do not hold, naming every failing path. */
function checkPlan(plan: ParsedSubmitRun['plan']): void {
  const issues = validatePlan(plan);
  if (issues.length === 0) return;
  const listed = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw new DomainError('INVALID_INPUT', `invalid plan: ${listed}`, { issues });
}

function checkHash(what: string, given: string | undefined, computed: string): void {
  if (given !== undefined && given !== computed) {
    throw new DomainError('INVALID_INPUT', `${what} hash ${given} does not match its content (${computed})`);
  }
}

function recordedPlan(plan: ParsedSubmitRun['plan'], steps: RecordedStep[]): RecordedPlan {
  const recorded: RecordedPlan = { version: 2, steps };
  if (plan.output !== undefined) recorded.output = plan.output;
  if (plan.maxParallel !== undefined) recorded.maxParallel = plan.maxParallel;
  return recorded;
}

export function decideSubmitRun(command: SubmitRun, state: RunState) {
  if (state.status !== 'none') {
    throw new DomainError('CONFLICT', `run ${command.runId} was already submitted`, { runId: command.runId });
  }
  const submission = parseSubmitRun(command);
  const { plan, budget, policy, priceTable } = submission;
  if (plan.steps.length > budget.maxSteps) {
    throw new DomainError(
      'BUDGET_EXCEEDED',
      `the plan has ${plan.steps.length} steps, above maxSteps ${budget.maxSteps}`,
      {
        steps: plan.steps.length,
        maxSteps: budget.maxSteps,
      },
    );
  }
  const hashedPolicy = { version: policy.version, hash: policyHash(policy), rules: policy.rules };
  checkHash('policy', policy.hash, hashedPolicy.hash);
  const hashedPrices = {
    version: priceTable.version,
    hash: priceTableHash(priceTable),
    models: priceTable.models,
  };
  checkHash('price table', priceTable.hash, hashedPrices.hash);

  checkPlan(plan);
  const v2 = usesPlanV2(plan, submission.input);
  const steps = normalizedSteps(plan.steps).map((step, index) => resolveStep(submission, step, index, v2));
  steps.forEach((step, stepIndex) => {
    for (const skill of [step.skill, ...(step.compensate ? [step.compensate.skill] : [])]) {
      const denial = skillVerdict(policy.rules, skill);
      if (!denial) continue;
      throw new DomainError('POLICY_DENIED', `step ${stepIndex}: ${denial.reason}`, {
        stepIndex,
        skill,
        ruleId: denial.ruleId,
        policyVersion: policy.version,
      });
    }
  });

  const deps = planGraph({ steps }).deps;
  // What planning spent is gone from the budget before the first step.
  const planningMicros = submission.planningMicros ?? 0;
  const estimates = estimatePlan(steps, {
    priceTable: hashedPrices,
    maxCostMicros: Math.max(0, budget.maxCostMicros - planningMicros),
    deps,
  });
  // The estimate of record: v2, unless the drift breaker had taken it out when this was submitted.
  const basis = submission.estimateBasis?.estimator ?? 'v2';
  const ofRecord = estimates[basis];
  const flagged = !ofRecord.feasible;
  if (flagged && policy.rules.infeasibleEstimate !== 'flag') {
    const overBudget = ofRecord.costMicros + planningMicros > budget.maxCostMicros;
    throw new DomainError(
      overBudget ? 'BUDGET_EXCEEDED' : 'POLICY_DENIED',
      `plan refused: ${ofRecord.reasons.join('; ')}`,
      {
        reasons: ofRecord.reasons,
        estimate: estimates,
        maxCostMicros: budget.maxCostMicros,
      },
    );
  }

  const nowMs = instantMs(submission.now);
  return [
    runEvent('RunSubmitted', {
      runId: submission.runId,
      tenantId: submission.tenantId,
      agentId: submission.agentId,
      plan: v2 ? recordedPlan(plan, steps) : { steps },
      input: submission.input,
      budget,
      seed: submission.seed,
      policy: hashedPolicy,
      priceTable: hashedPrices,
      ...(submission.planningMicros === undefined ? {} : { planningMicros }),
      ...(submission.estimateBasis === undefined ? {} : { estimateBasis: submission.estimateBasis }),
      deadlineAt: isoFromMs(nowMs + budget.deadlineMs),
      parent: submission.parent,
      at: isoFromMs(nowMs),
    }),
    runEvent('RunEstimated', {
      runId: submission.runId,
      v1: estimates.v1,
      v2: estimates.v2,
      basis,
      ...(submission.estimateBasis === undefined ? {} : { basisNote: submission.estimateBasis.note }),
      flagged,
    }),
  ];
}
