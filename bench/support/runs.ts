// What the executor, API and projection benchmarks run: 3-step plans of the stub skills,
// submitted through the real command handler.
import { type CommandDeps, submitRun } from '../../commands/run-commands.ts';
import type { SubmitRunRequest } from '../../domain/run/submit-request.ts';

/**
 * llm_invoke on the deterministic `stub` model, a JMESPath transform, and llm_invoke again.
 * `failFirst`: the first call fails once (HTTP_5XX) and is retried after 1 ms.
 */
export function threeStepPlan(n: number, options: { failFirst?: boolean } = {}): SubmitRunRequest {
  const first = { model: 'stub', prompt: `Summarise document ${n}`, maxTokens: 64 };
  return {
    agentId: 'bench-agent',
    plan: {
      steps: [
        options.failFirst
          ? {
              skill: 'llm_invoke',
              input: { ...first, stub: { failAttempts: 1 } },
              retry: { initialDelayMs: 1 },
            }
          : { skill: 'llm_invoke', input: first },
        {
          skill: 'json_transform',
          input: { expression: 'items[?score > `1`].id', data: { items: [{ id: n, score: 2 }] } },
        },
        { skill: 'llm_invoke', input: { model: 'stub', prompt: `Critique summary ${n}`, maxTokens: 64 } },
      ],
    },
    budget: { maxCostMicros: 2_000_000 },
    seed: n,
  };
}

export const benchPrincipal = (tenantId: string) => ({
  tenantId,
  actor: { id: 'bench', role: 'operator' as const },
});

/** Submits `count` runs of `tenantOf(i)` (plan: `planOf(i)`); resolves to their ids. */
export async function submitRuns(
  deps: CommandDeps,
  count: number,
  tenantOf: (i: number) => string,
  first = 0,
  planOf: (i: number) => SubmitRunRequest = threeStepPlan,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = first; i < first + count; i++) {
    ids.push((await submitRun(deps, benchPrincipal(tenantOf(i)), planOf(i))).runId);
  }
  return ids;
}
