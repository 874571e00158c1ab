// Checks a submitted plan's graph and references before anything is written: ids unique,
// dependencies known and acyclic, every expression well formed, and every `steps.<id>` an
// expression names upstream of where it is used. Each issue names its path in the request.
import { childRunInputSchema, isChildRunSkill, referableInput } from './child-run-input.ts';
import { normalizedSteps } from './graph.ts';
import { expressionsIn, parseExpression, referencedSteps } from './references.ts';
import type { PlanInput } from './schema.ts';

export interface PlanIssue {
  path: string;
  message: string;
}

/** Indices of the steps in a cycle through `start`, or undefined. */
function cycleThrough(deps: number[][], start: number): number[] | undefined {
  const path: number[] = [];
  const onPath = new Set<number>();
  const done = new Set<number>();
  const visit = (index: number): number[] | undefined => {
    if (onPath.has(index)) return index === start ? [...path, index] : undefined;
    if (done.has(index)) return undefined;
    onPath.add(index);
    path.push(index);
    for (const dep of deps[index] ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    path.pop();
    onPath.delete(index);
    done.add(index);
    return undefined;
  };
  return visit(start);
}

function upstreamOf(deps: number[][], index: number): Set<number> {
  const found = new Set<number>();
  const stack = [...(deps[index] ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (found.has(next)) continue;
    found.add(next);
    stack.push(...(deps[next] ?? []));
  }
  return found;
}

interface Scope {
  /** Steps an expression here may read; undefined: any step of the plan. */
  visible?: Set<number>;
  where: string;
}

function checkExpression(
  path: string,
  expression: string,
  scope: Scope,
  indexOf: Map<string, number>,
): PlanIssue[] {
  let ast: ReturnType<typeof parseExpression>;
  try {
    ast = parseExpression(expression);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return [{ path, message: `malformed JMESPath expression ${JSON.stringify(expression)}: ${reason}` }];
  }
  return referencedSteps(ast).flatMap((id): PlanIssue[] => {
    const index = indexOf.get(id);
    if (index === undefined) return [{ path, message: `references unknown step ${JSON.stringify(id)}` }];
    if (scope.visible && !scope.visible.has(index)) {
      return [
        { path, message: `references step ${JSON.stringify(id)}, which is not upstream of ${scope.where}` },
      ];
    }
    return [];
  });
}

/** A child's plan is checked as a plan of its own (its references read the child's steps). */
function childPlanIssues(input: Record<string, unknown>, base: string): PlanIssue[] {
  const parsed = childRunInputSchema.shape.plan.safeParse(input.plan);
  if (!parsed.success) return []; // the skill's input schema names what is malformed
  return validatePlan(parsed.data).map((issue) => ({
    path: `${base}${issue.path.slice('plan'.length)}`,
    message: issue.message,
  }));
}

export function validatePlan(plan: PlanInput): PlanIssue[] {
  const steps = normalizedSteps(plan.steps);
  const issues: PlanIssue[] = [];
  const indexOf = new Map<string, number>();
  steps.forEach((step, index) => {
    if (indexOf.has(step.id)) {
      issues.push({
        path: `plan.steps.${index}.id`,
        message: `duplicate step id ${JSON.stringify(step.id)}`,
      });
    } else indexOf.set(step.id, index);
  });
  const deps = steps.map((step, index) =>
    step.dependsOn.flatMap((id, position) => {
      const dep = indexOf.get(id);
      if (dep === undefined) {
        issues.push({
          path: `plan.steps.${index}.dependsOn.${position}`,
          message: `unknown step ${JSON.stringify(id)}`,
        });
        return [];
      }
      return [dep];
    }),
  );
  if (issues.length > 0) return issues;

  for (let index = 0; index < steps.length; index++) {
    const cycle = cycleThrough(deps, index);
    if (cycle) {
      const names = cycle.map((i) => steps[i]!.id).join(' → ');
      return [{ path: `plan.steps.${index}.dependsOn`, message: `dependency cycle ${names}` }];
    }
  }

  steps.forEach((step, index) => {
    const base = `plan.steps.${index}`;
    const upstream = upstreamOf(deps, index);
    const scope = { visible: upstream, where: `step ${JSON.stringify(step.id)}` };
    if (step.when !== undefined) issues.push(...checkExpression(`${base}.when`, step.when, scope, indexOf));
    for (const found of expressionsIn(referableInput(step.skill, step.input), `${base}.input`)) {
      issues.push(...checkExpression(found.path, found.expression, scope, indexOf));
    }
    if (isChildRunSkill(step.skill)) issues.push(...childPlanIssues(step.input, `${base}.input.plan`));
    if (step.compensate) {
      // A compensation runs after its step, so it may read that step's own output too.
      const own = { visible: new Set([...upstream, index]), where: `the compensation of ${scope.where}` };
      for (const found of expressionsIn(step.compensate.input, `${base}.compensate.input`)) {
        issues.push(...checkExpression(found.path, found.expression, own, indexOf));
      }
    }
  });
  for (const found of expressionsIn(plan.output, 'plan.output')) {
    issues.push(...checkExpression(found.path, found.expression, { where: 'the plan output' }, indexOf));
  }
  return issues;
}
