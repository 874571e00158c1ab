// The skill of each step of a run, which cost and failure rows are grouped by but which
// CostCharged and SkillCallFailed do not repeat.
import type { ProjectedEvent } from './projection.ts';

export type StepSkills = Record<number, string>;

export function withStepSkill(skills: StepSkills, event: ProjectedEvent): StepSkills {
  if (event.type !== 'SkillCallStarted') return skills;
  const { stepIndex, skill } = event.data as { stepIndex: number; skill: string };
  return skills[stepIndex] === skill ? skills : { ...skills, [stepIndex]: skill };
}

export const runKeyOf = (event: ProjectedEvent) =>
  event.streamId.startsWith('run-') ? event.streamId : null;
