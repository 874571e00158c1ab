// A step's input as it is called: references resolved from the outputs recorded so far.
// Only steps upstream of the step are visible, so the result never depends on how parallel
// branches happened to interleave, and replay re-resolves it from the same recorded outputs.
// v1 plans are called with their input exactly as submitted.
import { canonicalHash, canonicalJson } from '../hashing.ts';
import { referableInput, withChildPlan } from '../plan/child-run-input.ts';
import { stepSeed } from '../plan/graph.ts';
import { type RefContext, resolveReferences } from '../plan/references.ts';
import type { StepInput } from '../step-input.ts';
import type { SubmittedRun } from './state.ts';

/** Resolved inputs up to this size (canonical JSON characters) are recorded in full. */
export const MAX_RECORDED_INPUT_CHARS = 16_384;
/** Larger ones are recorded as their hash and this many leading characters. */
export const TRUNCATED_INPUT_CHARS = 2_048;

function contextFor(run: SubmittedRun, visible: Iterable<number>): RefContext {
  const steps: Record<string, unknown> = {};
  for (const index of visible) {
    const step = run.steps[index]!;
    steps[run.graph.ids[index]!] = { status: step.status, output: step.output ?? null };
  }
  return { input: run.submission.input ?? {}, steps };
}

/** What `when` and references of a step read: the run's input and its upstream steps. */
export function stepContext(run: SubmittedRun, stepIndex: number): RefContext {
  return contextFor(run, run.graph.upstream[stepIndex]!);
}

/** The input a step is called with: references resolved, then what applied recoveries changed. */
export function resolvedStepInput(run: SubmittedRun, stepIndex: number): StepInput {
  const { skill, input } = run.submission.plan.steps[stepIndex]!;
  const { change } = run.steps[stepIndex]!;
  const resolved =
    run.graph.version === 1
      ? input
      : withChildPlan(
          skill,
          input,
          resolveReferences(referableInput(skill, input), stepContext(run, stepIndex)) as StepInput,
        );
  if (change?.model === undefined && change?.maxTokens === undefined) return resolved;
  return {
    ...resolved,
    ...(change.model === undefined ? {} : { model: change.model }),
    ...(change.maxTokens === undefined ? {} : { maxTokens: change.maxTokens }),
  };
}

/** The skill a step calls: the plan's, unless a fallback_skill recovery replaced it. */
export function stepSkill(run: SubmittedRun, stepIndex: number): { skill: string; skillVersion?: string } {
  const planStep = run.submission.plan.steps[stepIndex]!;
  const replaced = run.steps[stepIndex]!.change?.skill;
  if (replaced !== undefined) return { skill: replaced };
  return planStep.skillVersion === undefined
    ? { skill: planStep.skill }
    : { skill: planStep.skill, skillVersion: planStep.skillVersion };
}

/** A compensation also reads the output of the step it undoes. */
export function resolvedCompensationInput(run: SubmittedRun, stepIndex: number): StepInput {
  const compensate = run.submission.plan.steps[stepIndex]!.compensate!;
  const context = contextFor(run, [...run.graph.upstream[stepIndex]!, stepIndex]);
  return resolveReferences(compensate.input, context) as StepInput;
}

/** The plan's output once the run has succeeded; every step is visible to it. */
export function resolvedRunOutput(run: SubmittedRun): unknown {
  if (run.graph.output === undefined) return undefined;
  return resolveReferences(
    run.graph.output,
    contextFor(
      run,
      run.graph.ids.map((_, index) => index),
    ),
  );
}

/** The seed a step's skill is called with: the run's for v1 plans, the step's own for v2. */
export function seedForStep(run: SubmittedRun, stepIndex: number): number | string {
  if (run.graph.version === 1) return run.submission.seed;
  return stepSeed(run.submission.seed, run.graph.ids[stepIndex]!);
}

/** How an attempt records its resolved input: in full when small, else hash and a prefix. */
export function recordedInput(input: StepInput): {
  input?: StepInput;
  inputHash: string;
  inputTruncated?: string;
} {
  const text = canonicalJson(input);
  const inputHash = canonicalHash(input);
  if (text.length <= MAX_RECORDED_INPUT_CHARS) return { input, inputHash };
  return { inputHash, inputTruncated: text.slice(0, TRUNCATED_INPUT_CHARS) };
}
