// agent_invoke and agent_spawn as the registry describes them: their input schema (checked at
// submission like any skill's), contract and retry policy. They are never called: the run
// decider starts child runs itself (domain/plan/child-run-input.ts), so `invoke` only says so.
import { z } from 'zod';
import {
  type ChildRunSkill,
  childRunInputSchema,
  childRunSkills,
} from '../../domain/plan/child-run-input.ts';
import { builtinDefaultRetry } from '../../domain/skill-catalog.ts';
import { failure, type SkillDescriptor } from './registry.ts';

const descriptions: Record<ChildRunSkill, string> = {
  agent_invoke:
    "Start another agent's plan as a child run (same tenant, budget carved out of this run's) and wait for it; the step's output is the child's output.",
  agent_spawn:
    "Start another agent's plan as a child run without waiting; the step's output is {runId}. The run waits for its spawned children before it ends.",
};

function childRunDescriptor(name: ChildRunSkill): SkillDescriptor {
  return {
    name,
    version: '1.0.0',
    description: descriptions[name],
    inputSchema: childRunInputSchema,
    outputSchema: z.unknown(),
    costModel:
      "What the child's own steps are charged, within `budget.maxCostMicros` (default: all that remains of this run's budget). Estimators: that budget, else the child plan's estimate.",
    defaultRetry: builtinDefaultRetry(name),
    sideEffecting: false,
    async invoke() {
      return failure('INTERNAL', `${name} is run by the runtime as a child run, not called as a skill`);
    },
  };
}

export const childRunDescriptors = (): SkillDescriptor[] => childRunSkills.map(childRunDescriptor);
