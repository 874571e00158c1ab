// What run projections share: the skill of each step (which cost and failure rows are grouped
// by but which CostCharged and SkillCallFailed do not repeat) and the name of one attempt.
import type { ProjectedEvent } from './projection.ts';

export type StepSkills = Record<number, string>;

export function withStepSkill(skills: StepSkills, event: ProjectedEvent): StepSkills {
  if (event.type !== 'SkillCallStarted') return skills;
  const { stepIndex, skill } = event.data as { stepIndex: number; skill: string };
  return skills[stepIndex] === skill ? skills : { ...skills, [stepIndex]: skill };
}

export const runKeyOf = (event: ProjectedEvent) =>
  event.streamId.startsWith('run-') ? event.streamId : null;

/** Names one attempt of a run: its step, number, and whether it is the step's compensation. */
export const attemptKeyOf = (attempt: { stepIndex: number; attempt: number; compensation?: boolean }) =>
  `${attempt.stepIndex}:${attempt.attempt}${attempt.compensation ? ':c' : ''}`;
