// Child runs: `agent_invoke` starts another agent's plan as a run of its own and waits for
// its output; `agent_spawn` starts one without waiting. They are steps of the plan language,
// decided by the run decider (never called through the skill port), so their input is defined
// here. The child's `plan` is the child's own program: its references are the child's to
// resolve, so the parent resolves every field of the input but that one.
import { z } from 'zod';
import { microsSchema } from '../money.ts';
import { planInputSchema, runInputSchema } from './schema.ts';

export const childRunSkills = ['agent_invoke', 'agent_spawn'] as const;
export type ChildRunSkill = (typeof childRunSkills)[number];
export type ChildRunMode = 'invoke' | 'spawn';

/** How deep a tree of runs may grow: the root is depth 0. */
export const DEFAULT_MAX_CHILD_DEPTH = 5;
/** How many children one run may start over its life. */
export const DEFAULT_MAX_CHILDREN = 20;

export function isChildRunSkill(skill: string): skill is ChildRunSkill {
  return (childRunSkills as readonly string[]).includes(skill);
}

export function childRunMode(skill: ChildRunSkill): ChildRunMode {
  return skill === 'agent_invoke' ? 'invoke' : 'spawn';
}

export const childRunInputSchema = z.strictObject({
  /** The agent the child runs as (same tenant). */
  agentId: z.string().min(1).max(256),
  /** The child's plan; its references read the child's own `input` and steps. */
  plan: planInputSchema,
  /** The child's run input: where the parent passes data (`{"$ref": "steps.fetch.output"}`). */
  input: runInputSchema.optional(),
  budget: z
    .strictObject({
      /** Carved out of the parent's remaining budget; absent: all of what remains when it starts. */
      maxCostMicros: microsSchema.optional(),
      maxSteps: z.int().positive().optional(),
      /** Capped by the parent's own deadline. */
      deadlineMs: z.int().positive().optional(),
    })
    .optional(),
});
export type ChildRunInput = z.output<typeof childRunInputSchema>;

/** The part of a step's input the parent's references may touch: all but a child's plan. */
export function referableInput(skill: string, input: Record<string, unknown>): Record<string, unknown> {
  if (!isChildRunSkill(skill) || !('plan' in input)) return input;
  const { plan: _childs, ...rest } = input;
  return rest;
}

/** The resolved input with the child's plan put back as it was written. */
export function withChildPlan(
  skill: string,
  written: Record<string, unknown>,
  resolved: Record<string, unknown>,
): Record<string, unknown> {
  if (!isChildRunSkill(skill) || !('plan' in written)) return resolved;
  return { ...resolved, plan: written.plan };
}

/** The budget a child asks for, if it names one (read from the input as written). */
export function requestedChildBudget(input: Record<string, unknown>): number | undefined {
  const budget = input.budget as { maxCostMicros?: unknown } | undefined;
  return typeof budget?.maxCostMicros === 'number' ? budget.maxCostMicros : undefined;
}

/** The nested plan's steps, as far as they can be read (for estimates of a plan not yet parsed). */
export function childPlanSteps(
  input: Record<string, unknown>,
): Array<{ skill: string; input: Record<string, unknown> }> {
  const plan = input.plan as { steps?: unknown } | undefined;
  if (!Array.isArray(plan?.steps)) return [];
  return plan.steps.flatMap((step: unknown) => {
    const s = step as { skill?: unknown; input?: unknown };
    if (typeof s?.skill !== 'string') return [];
    const stepInput =
      typeof s.input === 'object' && s.input !== null ? (s.input as Record<string, unknown>) : {};
    return [{ skill: s.skill, input: stepInput }];
  });
}
