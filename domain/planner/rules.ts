// The rule-based planner: a goal's words → a plan template, deterministically (docs/planner.md
// lists the rules). Pure: the same goal and input always give the same plan.
import type { PlanStepInput } from '../plan/schema.ts';

export const RULES_PLANNER_VERSION = 'rules-1';

const URL_PATTERN = /https?:\/\/[^\s"'<>]+/g;
const SUMMARY_WORDS = /\b(summari[sz]e|summary|explain|describe)\b/i;
const TRAILING_PUNCTUATION = /[.,;:!?)]+$/;

export interface GoalRequest {
  goal: string;
  input?: Record<string, unknown> | undefined;
}

/** The model an llm_invoke step asks: the run input's `model`, else the deterministic stub. */
function modelOf(input: GoalRequest['input']): string {
  return typeof input?.model === 'string' ? input.model : 'stub';
}

function fetchSteps(urls: string[]): PlanStepInput[] {
  return urls.map((url, index) => ({
    id: `fetch${index + 1}`,
    skill: 'http_call',
    input: { method: 'GET', url },
  }));
}

/** The prompt of the summarising step: the goal, then each fetched body by reference. */
function summaryPrompt(goal: string, fetches: PlanStepInput[]): string {
  const bodies = fetches.map((step) => `\${steps.${step.id}.output.body}`);
  return [goal, ...bodies].join('\n\n');
}

/** The plan the rules give for a goal, as JSON text (what the planner "said"). */
export function planFromRules(request: GoalRequest): { steps: PlanStepInput[] } {
  const urls = [
    ...new Set((request.goal.match(URL_PATTERN) ?? []).map((u) => u.replace(TRAILING_PUNCTUATION, ''))),
  ];
  const fetches = fetchSteps(urls);
  const wantsSummary = SUMMARY_WORDS.test(request.goal);
  if (fetches.length > 0 && !wantsSummary) return { steps: fetches };
  const prompt = fetches.length > 0 ? summaryPrompt(request.goal, fetches) : request.goal;
  const answer: PlanStepInput = {
    id: 'answer',
    skill: 'llm_invoke',
    input: { model: modelOf(request.input), prompt },
    ...(fetches.length > 0 ? { dependsOn: fetches.map((step) => step.id!) } : {}),
  };
  return { steps: [...fetches, answer] };
}
