// The plan sandbox's pure half: a planner's raw output is only a proposal until it parses as
// a plan, its graph and references hold, it calls only skills that exist and the agent may
// use, and it fits the step limit. Cost and policy are checked by the command (simulate).
import type { AgentProfile } from '../events/agent-events.ts';
import { type PlanInput, planInputSchema } from '../plan/schema.ts';
import { validatePlan } from '../plan/validate.ts';

export interface PlanViolation {
  path: string;
  message: string;
}

export type SandboxVerdict =
  | { plan: PlanInput; violations: [] }
  | { plan?: undefined; violations: PlanViolation[] };

function parsedJson(raw: string): { value: unknown } | PlanViolation {
  try {
    return { value: JSON.parse(raw) };
  } catch {
    return { path: 'plan', message: 'the planner did not answer JSON' };
  }
}

function skillViolations(plan: PlanInput, profile: AgentProfile, known: (skill: string) => boolean) {
  return plan.steps.flatMap((step, index): PlanViolation[] => {
    const path = `plan.steps.${index}.skill`;
    if (!known(step.skill)) return [{ path, message: `unknown skill ${step.skill}` }];
    if (!profile.allowedSkills.includes(step.skill)) {
      return [{ path, message: `skill ${step.skill} is not allowed for this agent` }];
    }
    return [];
  });
}

export function checkProposal(
  raw: string,
  profile: AgentProfile,
  limits: { maxSteps: number },
  known: (skill: string) => boolean,
): SandboxVerdict {
  const json = parsedJson(raw);
  if (!('value' in json)) return { violations: [json] };
  const parsed = planInputSchema.safeParse(json.value);
  if (!parsed.success) {
    return {
      violations: parsed.error.issues.map((issue) => ({
        path: ['plan', ...issue.path.map(String)].join('.'),
        message: issue.message,
      })),
    };
  }
  const plan = parsed.data;
  const violations = [
    ...validatePlan(plan),
    ...skillViolations(plan, profile, known),
    ...(plan.steps.length > limits.maxSteps
      ? [{ path: 'plan.steps', message: `${plan.steps.length} steps exceed the limit of ${limits.maxSteps}` }]
      : []),
  ];
  return violations.length === 0 ? { plan, violations: [] } : { violations };
}
