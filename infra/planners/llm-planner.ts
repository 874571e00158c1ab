// The LLM planner: asks the OpenAI-compatible provider (AOS_LLM_BASE_URL) for a plan as JSON
// in the plan language. Its answer is only a proposal: the sandbox judges it like any other.
// Its call is the llm_invoke `llmCall` describes, so it is estimated and charged as one.
import type { Planner, PlanningRequest } from '../../commands/planner-port.ts';
import { completionSchema, usageFromProvider } from '../skills/llm-invoke.ts';

export const LLM_PLANNER_VERSION = 'llm-1';
const TIMEOUT_MS = 30_000;
/** The longest answer asked for: a plan, not an essay; it bounds what the call can cost. */
const MAX_PLAN_TOKENS = 2_000;

export interface LlmPlannerOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
}

/** The instructions: the plan language in brief and the skills this agent may call. */
function systemPrompt(request: PlanningRequest): string {
  return [
    'You turn a goal into an AOS plan. Answer with one JSON object and nothing else:',
    '{"steps":[{"id":"<letter then letters/digits>","skill":"<skill>","input":{...},"dependsOn":["<id>"]}]}',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${…} template of the plan language
    'A later step reads an earlier one with {"$ref":"steps.<id>.output"} or "${steps.<id>.output.text}" in a string.',
    `Skills you may use: ${request.profile.allowedSkills.join(', ')}.`,
    'http_call input: {"method":"GET","url":"..."}. llm_invoke input: {"model":"stub","prompt":"..."}.',
  ].join('\n');
}

/** Providers often fence JSON in markdown; the fence is not part of the plan. */
const withoutFence = (text: string) => text.replace(/^\s*```(?:json)?\s*/i, '').replace(/\s*```\s*$/, '');

export function createLlmPlanner(options: LlmPlannerOptions): Planner {
  const llmCall = (request: PlanningRequest) => ({
    model: options.model,
    system: systemPrompt(request),
    prompt: JSON.stringify({ goal: request.goal, input: request.input ?? null }),
    maxTokens: MAX_PLAN_TOKENS,
  });
  return {
    llmCall,
    async propose(request) {
      const call = llmCall(request);
      const messages = [
        { role: 'system', content: call.system },
        { role: 'user', content: call.prompt },
      ];
      const prompt = JSON.stringify({ model: options.model, messages });
      const response = await fetch(`${options.baseUrl.replace(/\/$/, '')}/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        },
        body: JSON.stringify({ model: options.model, messages, temperature: 0, max_tokens: MAX_PLAN_TOKENS }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await response.text();
      // A provider failure is recorded as what the planner said: the sandbox then rejects it.
      if (!response.ok) return { version: LLM_PLANNER_VERSION, prompt, rawOutput: text };
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { version: LLM_PLANNER_VERSION, prompt, rawOutput: text };
      }
      const parsed = completionSchema.safeParse(json);
      if (!parsed.success) return { version: LLM_PLANNER_VERSION, prompt, rawOutput: text };
      const content = parsed.data.choices[0]?.message?.content ?? '';
      return {
        version: LLM_PLANNER_VERSION,
        prompt,
        rawOutput: withoutFence(content),
        ...(parsed.data.usage ? { usage: usageFromProvider(options.model, parsed.data.usage) } : {}),
      };
    },
  };
}
