// CostSim: what a plan is expected to cost, how long it takes and how likely it fails,
// before anything runs. Two estimators are recorded side by side in RunEstimated so the
// divergence read model can compare each against what was actually charged:
// - v1, the original AOS's static per-skill table;
// - v2, token- and price-table-based.
// Both multiply by the step's `iterations` (the original's v2 did not, which made the two
// drift apart by construction). v2 is the estimate of record: budgets and per-call policy
// ceilings are checked against it, because it uses the same price table as the charges.
import { z } from 'zod';
import { DomainError } from './domain-error.ts';
import { type Micros, microsSchema } from './money.ts';
import { childPlanSteps, requestedChildBudget } from './plan/child-run-input.ts';
import { computeChargeMicros, FALLBACK_MODEL, type PriceTable } from './price-table.ts';
import { iterationsOf, maxTokensOf, modelOf, promptTextOf, type StepInput } from './step-input.ts';

/** A plan whose cumulative failure risk is above this is refused as too risky. */
export const MAX_PLAN_RISK = 0.5;
/** Output tokens assumed for an LLM call whose input sets no maxTokens. */
export const DEFAULT_OUTPUT_TOKENS = 256;
/** Characters per token for the v2 input-token estimate (ceil(chars / 4)). */
export const CHARS_PER_TOKEN = 4;

export interface EstimableStep {
  skill: string;
  input: StepInput;
}

export const stepEstimateSchema = z.strictObject({
  stepIndex: z.int().nonnegative(),
  skill: z.string(),
  model: z.string().optional(),
  costMicros: microsSchema,
  latencyMs: z.int().nonnegative(),
  risk: z.number().min(0).max(1),
});
export type StepEstimate = z.infer<typeof stepEstimateSchema>;

export const planEstimateSchema = z.strictObject({
  costMicros: microsSchema,
  latencyMs: z.int().nonnegative(),
  risk: z.number().min(0).max(1),
  feasible: z.boolean(),
  reasons: z.array(z.string()),
  steps: z.array(stepEstimateSchema),
});
export type PlanEstimate = z.infer<typeof planEstimateSchema>;

export interface Estimates {
  v1: PlanEstimate;
  v2: PlanEstimate;
}

/** Per-call failure probability by skill; anything unknown is 0.2, as in the original. */
const callRisk: Record<string, number> = {
  llm_invoke: 0.02,
  http_call: 0.05,
  json_transform: 0.01,
  agent_invoke: 0.05,
  agent_spawn: 0.05,
};
const UNKNOWN_SKILL = { costMicros: 100_000, latencyMs: 1_000, risk: 0.2 };

function riskPerCall(skill: string): number {
  return callRisk[skill] ?? UNKNOWN_SKILL.risk;
}

/** Risks are rounded to 9 decimals so that 1 − 0.8 reads 0.2, not 0.19999999999999996. */
function roundRisk(risk: number): number {
  return Math.round(risk * 1e9) / 1e9;
}

/** 1 − (1 − p)^n: the chance that at least one of n calls fails. */
export function stepRisk(perCall: number, iterations: number): number {
  return roundRisk(1 - (1 - perCall) ** iterations);
}

/** 1 − Π(1 − r): the chance that at least one step fails. */
export function cumulativeRisk(stepRisks: number[]): number {
  return roundRisk(1 - stepRisks.reduce((survive, risk) => survive * (1 - risk), 1));
}

interface CallEstimate {
  costMicros: Micros;
  latencyMs: number;
  model?: string;
}

/** v1, per call: LLM max(5, floor(promptLength / 1000)) cents and 1000 ms + 1 ms per 100 chars. */
function v1Call(step: EstimableStep): CallEstimate {
  switch (step.skill) {
    case 'llm_invoke': {
      const length = promptTextOf(step.input).length;
      const cents = Math.max(5, Math.floor(length / 1000));
      return { costMicros: cents * 10_000, latencyMs: 1_000 + Math.floor(length / 100) };
    }
    case 'http_call':
      return { costMicros: 0, latencyMs: 500 };
    case 'json_transform':
      return { costMicros: 0, latencyMs: 10 };
    case 'agent_invoke':
    case 'agent_spawn':
      return childCall(step, v1Call);
    default:
      return { costMicros: UNKNOWN_SKILL.costMicros, latencyMs: UNKNOWN_SKILL.latencyMs };
  }
}

/**
 * v2, per call: an LLM call costs its estimated tokens at the price table's prices (input
 * ceil(chars / 4), output maxTokens or DEFAULT_OUTPUT_TOKENS, unknown models at the fallback
 * price) and takes 500 ms + 10 ms per output token. Other skills as in v1.
 */
/**
 * A child run costs the budget it asks for, else what its own steps are estimated at (by the
 * same estimator), and takes as long as its steps one after the other.
 */
function childCall(step: EstimableStep, perCall: (step: EstimableStep) => CallEstimate): CallEstimate {
  const nested = childPlanSteps(step.input).map((child) => {
    const call = perCall(child);
    const iterations = iterationsOf(child.input);
    return { costMicros: call.costMicros * iterations, latencyMs: call.latencyMs * iterations };
  });
  const sum = (key: 'costMicros' | 'latencyMs') => nested.reduce((total, call) => total + call[key], 0);
  return { costMicros: requestedChildBudget(step.input) ?? sum('costMicros'), latencyMs: sum('latencyMs') };
}

function v2Call(step: EstimableStep, priceTable: Pick<PriceTable, 'models'>): CallEstimate {
  if (step.skill === 'agent_invoke' || step.skill === 'agent_spawn') {
    return childCall(step, (child) => v2Call(child, priceTable));
  }
  if (step.skill !== 'llm_invoke') return v1Call(step);
  const model = modelOf(step.input) ?? FALLBACK_MODEL;
  const outputTokens = maxTokensOf(step.input) ?? DEFAULT_OUTPUT_TOKENS;
  const inputTokens = Math.ceil(promptTextOf(step.input).length / CHARS_PER_TOKEN);
  const costMicros = computeChargeMicros(
    { model, inputTokens, outputTokens, cachedInputTokens: 0 },
    priceTable,
  );
  return { costMicros, latencyMs: 500 + 10 * outputTokens, model };
}

function stepEstimate(step: EstimableStep, stepIndex: number, call: CallEstimate): StepEstimate {
  const iterations = iterationsOf(step.input);
  const estimate: StepEstimate = {
    stepIndex,
    skill: step.skill,
    costMicros: call.costMicros * iterations,
    latencyMs: call.latencyMs * iterations,
    risk: stepRisk(riskPerCall(step.skill), iterations),
  };
  if (call.model !== undefined) estimate.model = call.model;
  return estimate;
}

export function estimateStepV1(step: EstimableStep, stepIndex = 0): StepEstimate {
  return stepEstimate(step, stepIndex, v1Call(step));
}

export function estimateStepV2(step: EstimableStep, priceTable: Pick<PriceTable, 'models'>, stepIndex = 0) {
  return stepEstimate(step, stepIndex, v2Call(step, priceTable));
}

/**
 * The latency along the critical path: a step starts when its slowest dependency ends.
 * Without `deps` the steps run one after the other (a linear plan), so this is their sum.
 */
export function criticalPathMs(steps: readonly StepEstimate[], deps?: readonly number[][]): number {
  const finish: number[] = [];
  steps.forEach((step, index) => {
    const after = deps ? (deps[index] ?? []) : index === 0 ? [] : [index - 1];
    finish[index] = Math.max(0, ...after.map((dep) => finish[dep] ?? 0)) + step.latencyMs;
  });
  return Math.max(0, ...finish);
}

function summarise(
  steps: StepEstimate[],
  maxCostMicros: Micros | undefined,
  deps: readonly number[][] | undefined,
): PlanEstimate {
  const costMicros = steps.reduce((sum, step) => sum + step.costMicros, 0);
  const latencyMs = criticalPathMs(steps, deps);
  const risk = cumulativeRisk(steps.map((step) => step.risk));
  const reasons: string[] = [];
  if (risk > MAX_PLAN_RISK) reasons.push(`cumulative risk ${risk.toFixed(4)} is above ${MAX_PLAN_RISK}`);
  if (maxCostMicros !== undefined && costMicros > maxCostMicros) {
    reasons.push(`estimated cost ${costMicros} micros exceeds the budget of ${maxCostMicros} micros`);
  }
  return { costMicros, latencyMs, risk, feasible: reasons.length === 0, reasons, steps };
}

/**
 * Both estimates of a plan; `maxCostMicros`, when given, makes an over-budget plan infeasible.
 * `deps` (each step's dependency indices) makes latency the critical path of the DAG; cost
 * and risk add up over every step whatever the graph, since every branch runs.
 */
export function estimatePlan(
  steps: readonly EstimableStep[],
  options: { priceTable: Pick<PriceTable, 'models'>; maxCostMicros?: Micros; deps?: readonly number[][] },
): Estimates {
  if (steps.length === 0) throw new DomainError('INVALID_INPUT', 'a plan needs at least one step');
  return {
    v1: summarise(
      steps.map((step, index) => estimateStepV1(step, index)),
      options.maxCostMicros,
      options.deps,
    ),
    v2: summarise(
      steps.map((step, index) => estimateStepV2(step, options.priceTable, index)),
      options.maxCostMicros,
      options.deps,
    ),
  };
}
