// The rule-based planner behind the planner port: the domain's rules, with the goal and input
// as the "prompt" so PlanProposed hashes what decided the plan.
import type { Planner } from '../../commands/planner-port.ts';
import { planFromRules, RULES_PLANNER_VERSION } from '../../domain/planner/rules.ts';

export const rulePlanner: Planner = {
  async propose({ goal, input }) {
    return {
      version: RULES_PLANNER_VERSION,
      prompt: JSON.stringify({ goal, input: input ?? null }),
      rawOutput: JSON.stringify(planFromRules({ goal, input })),
    };
  },
};
