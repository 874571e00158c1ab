// POST /v1/simulate: what a plan would cost and whether it could run as written; writes
// nothing. Each step is put to the policy in force exactly as execution will put it
// (domain/step-policy.ts), its input is checked as submission checks it
// (validate-submission.ts), and the estimate is the one RunEstimated would record.
import { estimatePlan } from '../domain/estimate.ts';
import { planGraph } from '../domain/plan/graph.ts';
import { isExpression } from '../domain/plan/validate-inputs.ts';
import { type SubmitRunRequest, submitRunRequestSchema } from '../domain/run/submit-request.ts';
import { stepSideEffecting } from '../domain/skill-catalog.ts';
import { decideStepPolicy } from '../domain/step-policy.ts';
import { estimateBasis } from './estimator-breaker.ts';
import { currentPriceTable, policyInForce } from './reference-data.ts';
import type { CommandDeps, Principal } from './run-commands.ts';
import { refuseInvalidPlan, validatePlanForSubmission } from './validate-submission.ts';

/** Simulated steps are decided as the first attempt of a run that has no id yet. */
const SIMULATED_RUN = 'simulation';

/**
 * A url written as a reference has no host until upstream steps answer: its host rules are
 * decided when the step runs, which simulate says instead of calling the step denied.
 */
function verdictOf(decision: ReturnType<typeof decideStepPolicy>, input: Record<string, unknown>) {
  if (decision.ruleId === 'http.url.invalid' && isExpression(input.url)) {
    return {
      ruleId: 'http.url.reference',
      result: 'deferred',
      reason: 'the url is a reference: its host is checked when the step runs',
    };
  }
  return { ruleId: decision.ruleId, result: decision.result, reason: decision.reason };
}

export async function simulateRun(deps: CommandDeps, principal: Principal, request: SubmitRunRequest) {
  const body = submitRunRequestSchema.parse(request);
  const issues = validatePlanForSubmission(body.plan, deps.skills);
  // A plan whose graph does not hold cannot be estimated: a 400, as at submission. What is
  // wrong with a skill or an input is an answer, not an error: the plan is not feasible.
  refuseInvalidPlan(issues.filter((issue) => issue.about === 'plan'));
  const [policy, priceTable, basis] = await Promise.all([
    policyInForce(deps, principal.tenantId),
    currentPriceTable(deps.store),
    estimateBasis(deps.store),
  ]);
  const graph = planGraph({ steps: body.plan.steps });
  const estimate = estimatePlan(
    body.plan.steps.map((step) => ({ skill: step.skill, input: step.input })),
    { priceTable, maxCostMicros: body.budget.maxCostMicros, deps: graph.deps },
  );
  const steps = body.plan.steps.map((step, index) => {
    const facts = deps.skills.facts(step.skill, step.skillVersion);
    const sideEffecting = stepSideEffecting(step, facts);
    const costMicros = estimate[basis.estimator].steps[index]!.costMicros;
    const decision = decideStepPolicy(policy, {
      runId: SIMULATED_RUN,
      tenantId: principal.tenantId,
      agentId: body.agentId,
      stepIndex: index,
      attempt: 1,
      skill: step.skill,
      skillVersion: step.skillVersion,
      sideEffecting,
      estimateMicros: costMicros,
      approvalGranted: false,
      input: step.input,
    });
    return {
      index,
      id: graph.ids[index]!,
      dependsOn: graph.deps[index]!.map((dep) => graph.ids[dep]!),
      skill: step.skill,
      known: facts !== undefined,
      sideEffecting,
      costMicros,
      policy: verdictOf(decision, step.input),
    };
  });
  const reasons = [
    ...estimate[basis.estimator].reasons,
    ...issues.map((issue) => `${issue.path}: ${issue.message}`),
    ...steps
      .filter((step) => step.policy.result === 'deny')
      .map((step) => `step ${step.id}: ${step.policy.reason}`),
  ];
  const risks = [
    ...steps
      .filter((step) => step.policy.result === 'require_approval')
      .map((step) => `step ${step.id}: waits for an approval (${step.policy.reason})`),
    ...steps
      .filter((step) => step.policy.result === 'deferred')
      .map((step) => `step ${step.id}: ${step.policy.reason}`),
    ...steps
      .filter((step) => step.sideEffecting)
      .map((step) => `step ${step.id}: changes something outside AOS`),
    ...(estimate[basis.estimator].risk > 0
      ? [`failure risk ${estimate[basis.estimator].risk} (at least one call fails)`]
      : []),
    ...(basis.note ? [basis.note] : []),
  ];
  return {
    estimate,
    costMicros: estimate[basis.estimator].costMicros,
    withinBudget: estimate[basis.estimator].costMicros <= body.budget.maxCostMicros,
    basis,
    feasible: reasons.length === 0,
    reasons,
    risks,
    issues,
    policy: { version: policy.version, hash: policy.hash },
    priceTable: { version: priceTable.version, hash: priceTable.hash },
    steps,
  };
}
