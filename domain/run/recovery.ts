// Recoveries of a failed step: what a suggested recovery would change in the step's next call,
// and whether it may be suggested at all. A recovery must change something (a fallback to the
// model already in use is no recovery), and a step takes at most MAX_RECOVERIES_PER_STEP, so a
// recovery that keeps failing cannot loop.
import { DEFAULT_OUTPUT_TOKENS } from '../estimate.ts';
import type { Recovery } from '../failure-catalog.ts';
import { deterministicUuid } from '../hashing.ts';
import { maxTokensOf, modelOf } from '../step-input.ts';
import { resolvedStepInput, stepSkill } from './resolve.ts';
import type { StepChange, SubmittedRun } from './state.ts';

export const MAX_RECOVERIES_PER_STEP = 3;

/** The recovery of a failed attempt: derived, so a command decided again suggests the same one. */
export function recoveryIdFor(runId: string, stepIndex: number, attempt: number): string {
  return deterministicUuid('recovery', runId, stepIndex, attempt);
}

/**
 * What `recovery` would change in step `stepIndex`'s next call, or undefined when it cannot
 * apply (nothing would change, or the step has had its recoveries). `ask_human` changes
 * nothing: accepting it retries the step as it is, once a person has looked.
 */
export function recoveryChange(
  run: SubmittedRun,
  stepIndex: number,
  recovery: Recovery,
): StepChange | undefined {
  if (run.steps[stepIndex]!.recoveries >= MAX_RECOVERIES_PER_STEP) return undefined;
  switch (recovery.mode) {
    case 'fallback_model': {
      const model = modelOf(resolvedStepInput(run, stepIndex));
      return model === undefined || model === recovery.params.model
        ? undefined
        : { model: recovery.params.model };
    }
    case 'reduce_tokens': {
      const input = resolvedStepInput(run, stepIndex);
      if (modelOf(input) === undefined) return undefined;
      const current = maxTokensOf(input) ?? DEFAULT_OUTPUT_TOKENS;
      const maxTokens = Math.max(1, Math.floor(current * recovery.params.factor));
      return maxTokens < current ? { maxTokens } : undefined;
    }
    case 'fallback_skill':
      return stepSkill(run, stepIndex).skill === recovery.params.skill
        ? undefined
        : { skill: recovery.params.skill };
    case 'ask_human':
      return {};
    case 'retry_later':
    case 'abort':
      return undefined;
  }
}
