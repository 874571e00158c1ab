// Everything about a plan that can be known before it runs, checked in one place: at
// submission (POST /v1/runs), in simulate, and by whoever else proposes plans (a planner's
// sandbox). The graph and its references, every skill known, every step's input against its
// skill's input schema, the idempotency key of each side-effecting call.
import { DomainError } from '../domain/domain-error.ts';
import type { ErrorCode } from '../domain/errors.ts';
import { childRunInputSchema, isChildRunSkill } from '../domain/plan/child-run-input.ts';
import type { PlanInput } from '../domain/plan/schema.ts';
import { validatePlan } from '../domain/plan/validate.ts';
import { stepInputIssues } from '../domain/plan/validate-inputs.ts';
import type { SkillPort } from './skill-port.ts';

export interface SubmissionIssue {
  /** What the issue is about: the plan's graph and references, a skill, or a step's input. */
  about: 'plan' | 'skill' | 'input';
  code: Extract<ErrorCode, 'INVALID_INPUT' | 'SKILL_NOT_FOUND' | 'MISSING_IDEMPOTENCY_KEY'>;
  /** Where in the request: `plan.steps[0].input.data`. */
  path: string;
  message: string;
}

interface CalledSkill {
  skill: string;
  skillVersion?: string | undefined;
  path: string;
}

/** Every skill a plan calls: its steps', their compensations' and its child runs' plans'. */
export function calledSkills(plan: PlanInput, prefix = 'plan'): CalledSkill[] {
  return plan.steps.flatMap((step, index) => {
    const base = `${prefix}.steps[${index}]`;
    const child = isChildRunSkill(step.skill)
      ? childRunInputSchema.shape.plan.safeParse(step.input.plan)
      : null;
    return [
      { skill: step.skill, skillVersion: step.skillVersion, path: `${base}.skill` },
      ...(step.compensate ? [{ ...step.compensate, path: `${base}.compensate.skill` }] : []),
      ...(child?.success ? calledSkills(child.data, `${base}.input.plan`) : []),
    ];
  });
}

/** The plan's issues, none when it may be submitted. Writes nothing, calls no skill. */
export function validatePlanForSubmission(
  plan: PlanInput,
  skills: Pick<SkillPort, 'facts' | 'resolve'>,
): SubmissionIssue[] {
  const graph = validatePlan(plan).map((issue) => ({
    about: 'plan' as const,
    code: 'INVALID_INPUT' as const,
    ...issue,
  }));
  const unknown = calledSkills(plan)
    .filter((called) => skills.facts(called.skill, called.skillVersion) === undefined)
    .map((called) => ({
      about: 'skill' as const,
      code: 'SKILL_NOT_FOUND' as const,
      path: called.path,
      message: `unknown skill ${called.skill}${called.skillVersion ? `@${called.skillVersion}` : ''}`,
    }));
  const inputs = stepInputIssues(plan, (skill, version) => skills.resolve?.(skill, version)?.inputSchema).map(
    (issue) => ({ about: 'input' as const, ...issue }),
  );
  return [...graph, ...unknown, ...inputs];
}

/** The code a refusal answers with: the first issue's, so the API says what to fix first. */
export function refuseInvalidPlan(issues: readonly SubmissionIssue[]): void {
  const [first] = issues;
  if (!first) return;
  const listed = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw new DomainError(first.code, `invalid plan: ${listed}`, { issues: [...issues] });
}
