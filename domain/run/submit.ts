// SubmitRun: validate the plan, snapshot the policy and price table, estimate, and either
// refuse (nothing written) or record RunSubmitted + RunEstimated.
import type { z } from 'zod';
import { DomainError } from '../domain-error.ts';
import { estimatePlan } from '../estimate.ts';
import type { RecordedStep } from '../events/run-events.ts';
import { policyHash, skillVerdict } from '../policy.ts';
import { priceTableHash } from '../pricing.ts';
import { resolveRetryPolicy } from '../retry.ts';
import { builtinDefaultRetry, builtinSideEffecting } from '../skill-catalog.ts';
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

function resolveStep(
  command: ParsedSubmitRun,
  step: ParsedSubmitRun['plan']['steps'][number],
  index: number,
) {
  const facts = command.skills?.[step.skill];
  const parsedRetry = (() => {
    try {
      return resolveRetryPolicy(facts?.defaultRetry ?? builtinDefaultRetry(step.skill), step.retry);
    } catch {
      throw new DomainError('INVALID_INPUT', `step ${index}: the retry override makes an invalid policy`, {
        stepIndex: index,
        retry: step.retry,
      });
    }
  })();
  const resolved: RecordedStep = {
    skill: step.skill,
    input: step.input,
    retry: parsedRetry,
    onFailure: step.onFailure,
    sideEffecting: step.sideEffecting ?? facts?.sideEffecting ?? builtinSideEffecting(step.skill, step.input),
  };
  if (step.skillVersion !== undefined) resolved.skillVersion = step.skillVersion;
  return resolved;
}

function checkHash(what: string, given: string | undefined, computed: string): void {
  if (given !== undefined && given !== computed) {
    throw new DomainError('INVALID_INPUT', `${what} hash ${given} does not match its content (${computed})`);
  }
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

  const steps = plan.steps.map((step, index) => resolveStep(submission, step, index));
  steps.forEach((step, stepIndex) => {
    const denial = skillVerdict(policy.rules, step.skill);
    if (denial) {
      throw new DomainError('POLICY_DENIED', `step ${stepIndex}: ${denial.reason}`, {
        stepIndex,
        skill: step.skill,
        ruleId: denial.ruleId,
        policyVersion: policy.version,
      });
    }
  });

  const estimates = estimatePlan(steps, { priceTable: hashedPrices, maxCostMicros: budget.maxCostMicros });
  const flagged = !estimates.v2.feasible;
  if (flagged && policy.rules.infeasibleEstimate !== 'flag') {
    const overBudget = estimates.v2.costMicros > budget.maxCostMicros;
    throw new DomainError(
      overBudget ? 'BUDGET_EXCEEDED' : 'POLICY_DENIED',
      `plan refused: ${estimates.v2.reasons.join('; ')}`,
      {
        reasons: estimates.v2.reasons,
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
      plan: { steps },
      budget,
      seed: submission.seed,
      policy: hashedPolicy,
      priceTable: hashedPrices,
      deadlineAt: isoFromMs(nowMs + budget.deadlineMs),
      at: isoFromMs(nowMs),
    }),
    runEvent('RunEstimated', {
      runId: submission.runId,
      v1: estimates.v1,
      v2: estimates.v2,
      basis: 'v2',
      flagged,
    }),
  ];
}
