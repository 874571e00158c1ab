// The planners of an installation: the rules always; the LLM planner when a provider is set
// (without one, an agent with planner: llm gets every proposal rejected, recorded as such).
import type { Planners } from '../../commands/planner-port.ts';
import type { Config } from '../config.ts';
import { createLlmPlanner } from './llm-planner.ts';
import { rulePlanner } from './rule-planner.ts';

const noProvider = {
  async propose() {
    return { version: 'none', prompt: '', rawOutput: 'no LLM provider is configured (AOS_LLM_BASE_URL)' };
  },
};

export function createPlanners(
  config: Pick<Config, 'AOS_LLM_BASE_URL' | 'AOS_LLM_API_KEY' | 'AOS_PLANNER_MODEL'>,
): Planners {
  const llm = config.AOS_LLM_BASE_URL
    ? createLlmPlanner({
        baseUrl: config.AOS_LLM_BASE_URL,
        apiKey: config.AOS_LLM_API_KEY,
        model: config.AOS_PLANNER_MODEL,
      })
    : noProvider;
  return { rules: rulePlanner, llm };
}
