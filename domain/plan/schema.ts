// The plan language as submitted. v1 is a list of steps run one after the other; v2 adds
// step ids, `dependsOn`, `when`, references (`{"$ref": …}`, `${…}`), compensation, a plan
// `output` and `maxParallel`. A plan that uses none of these is recorded exactly as v1 was.
import { z } from 'zod';
import { retryOverrideSchema } from '../retry-policy.ts';
import { hasRef } from './references.ts';

export const stepIdSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'a step id is a letter then up to 63 letters, digits, _ or -');

export const onFailureValues = ['fail', 'continue', 'compensate'] as const;

export const compensateInputSchema = z.strictObject({
  skill: z.string().min(1),
  skillVersion: z.string().min(1).optional(),
  input: z.record(z.string(), z.unknown()).default({}),
  retry: retryOverrideSchema.optional(),
});

export const planStepInputSchema = z.strictObject({
  id: stepIdSchema.optional(),
  skill: z.string().min(1),
  skillVersion: z.string().min(1).optional(),
  input: z.record(z.string(), z.unknown()).default({}),
  dependsOn: z.array(stepIdSchema).max(100).optional(),
  /** JMESPath over {input, steps}; falsy → the step is skipped. */
  when: z.string().min(1).max(2000).optional(),
  retry: retryOverrideSchema.optional(),
  onFailure: z.enum(onFailureValues).default('fail'),
  compensate: compensateInputSchema.optional(),
  /** Overrides the skill's own side-effecting flag for this step. */
  sideEffecting: z.boolean().optional(),
});
export type PlanStepInput = z.input<typeof planStepInputSchema>;

export const MAX_PARALLEL_LIMIT = 32;

export const planInputSchema = z.strictObject({
  /** Declares the v2 language; implied by any of its features. */
  version: z.literal(2).optional(),
  steps: z.array(planStepInputSchema).min(1, 'a plan needs at least one step'),
  /** A reference (or any JSON with references) resolved when the run succeeds. */
  output: z.unknown().optional(),
  maxParallel: z.int().min(1).max(MAX_PARALLEL_LIMIT).optional(),
});
export type PlanInput = z.output<typeof planInputSchema>;

/** The run's own input, visible to references as `input`. */
export const runInputSchema = z.record(z.string(), z.unknown());

/**
 * Whether a plan uses anything of v2; a plan that does not is recorded and run as v1. A `${…}`
 * alone does not make a plan v2: a v1 prompt may contain that text and must stay as it was.
 */
export function usesPlanV2(plan: PlanInput, runInput: Record<string, unknown> | undefined): boolean {
  if (plan.version === 2 || runInput !== undefined) return true;
  if (plan.output !== undefined || plan.maxParallel !== undefined) return true;
  return plan.steps.some(
    (step) =>
      step.id !== undefined ||
      step.dependsOn !== undefined ||
      step.when !== undefined ||
      step.compensate !== undefined ||
      step.onFailure === 'compensate' ||
      hasRef(step.input),
  );
}
