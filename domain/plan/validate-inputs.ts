// What can be known of a plan's step inputs before it runs: each input against its skill's
// input schema, and the idempotency key a side-effecting call needs. Parts written as
// references (`{"$ref": …}`, `"${…}"`) are only known once upstream steps have answered, so an
// issue under one is left to the registry's check at call time.
import type { z } from 'zod';
import { missingIdempotencyKey } from '../skill-catalog.ts';
import type { StepInput } from '../step-input.ts';
import { childRunInputSchema, isChildRunSkill } from './child-run-input.ts';
import type { PlanInput } from './schema.ts';
import type { PlanIssue } from './validate.ts';

/** The input schema a step's skill and version would be called with; undefined: unknown. */
export type InputSchemaOf = (skill: string, skillVersion?: string) => z.ZodType | undefined;

export interface InputIssue extends PlanIssue {
  code: 'INVALID_INPUT' | 'MISSING_IDEMPOTENCY_KEY';
}

/** A value written as a reference: a `{"$ref": …}` object or a string holding `${…}`. */
export const isExpression = (value: unknown): boolean =>
  typeof value === 'string'
    ? value.includes('${')
    : typeof value === 'object' && value !== null && !Array.isArray(value) && '$ref' in value;

/** Whether the value at `path`, or any value on the way to it, is a reference. */
function underReference(input: unknown, path: readonly PropertyKey[]): boolean {
  let value = input;
  for (const key of path) {
    if (isExpression(value)) return true;
    if (typeof value !== 'object' || value === null) return false;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return isExpression(value);
}

/** `plan.steps[0].input.data`: the path the API's answer names. */
function pathText(base: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : `${text}.${String(key)}`),
    base,
  );
}

function schemaIssues(schema: z.ZodType, input: StepInput, base: string): InputIssue[] {
  const parsed = schema.safeParse(input);
  if (parsed.success) return [];
  return parsed.error.issues
    .filter((issue) => !underReference(input, issue.path))
    .map((issue) => ({ code: 'INVALID_INPUT', path: pathText(base, issue.path), message: issue.message }));
}

/** One call of the plan (a step or a compensation) and where it sits in the request. */
function callsOf(plan: PlanInput, prefix: string) {
  return plan.steps.flatMap((step, index) => {
    const base = `${prefix}.steps[${index}]`;
    const own = {
      skill: step.skill,
      skillVersion: step.skillVersion,
      input: step.input,
      base: `${base}.input`,
    };
    if (!step.compensate) return [own];
    const { skill, skillVersion, input } = step.compensate;
    return [own, { skill, skillVersion, input, base: `${base}.compensate.input` }];
  });
}

/** Every issue of every step's input; skills the lookup does not know are not checked here. */
export function stepInputIssues(
  plan: PlanInput,
  inputSchemaOf: InputSchemaOf,
  prefix = 'plan',
): InputIssue[] {
  return callsOf(plan, prefix).flatMap((call) => {
    const schema = inputSchemaOf(call.skill, call.skillVersion);
    const issues = schema ? schemaIssues(schema, call.input, call.base) : [];
    const unkeyed = hasNoReferences(call.input) ? missingIdempotencyKey(call.skill, call.input) : undefined;
    if (unkeyed)
      issues.push({ code: 'MISSING_IDEMPOTENCY_KEY', path: `${call.base}.idempotencyKey`, message: unkeyed });
    // A child's plan is known now too: its steps are checked the same way.
    const child = isChildRunSkill(call.skill)
      ? childRunInputSchema.shape.plan.safeParse(call.input.plan)
      : null;
    if (child?.success) issues.push(...stepInputIssues(child.data, inputSchemaOf, `${call.base}.plan`));
    return issues;
  });
}

/** A method or key written as a reference is only known at run time: the registry checks it then. */
function hasNoReferences(input: StepInput): boolean {
  return !['method', 'idempotencyKey', 'headers'].some((key) => underReference(input, [key]));
}
