// Builders for run decider tests: a submission, recorded histories built by running real
// commands, and instants relative to T0.
import type { Actor } from '../../../domain/actor.ts';
import type { RunEvent } from '../../../domain/events/run-events.ts';
import { defaultPolicy, type Policy } from '../../../domain/policy.ts';
import { defaultPriceTable } from '../../../domain/pricing.ts';
import type { RunCommand, SubmitRun } from '../../../domain/run/commands.ts';
import { runDecider } from '../../../domain/run/decider.ts';
import { evolve, initialState, type RunState } from '../../../domain/run/state.ts';
import { deciderSpec } from '../spec.ts';

export const T0 = '2025-01-01T00:00:00.000Z';
export const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();

export const spec = deciderSpec(runDecider);

export const operator: Actor = { id: 'op-1', role: 'operator' };
export const viewer: Actor = { id: 'v-1', role: 'viewer' };

export const llmStep = {
  skill: 'llm_invoke',
  input: { model: 'stub', prompt: 'Summarise X', maxTokens: 100 },
};
export const transformStep = {
  skill: 'json_transform',
  input: { expression: 'items[0]', data: { items: [1, 2] } },
  retry: { maxAttempts: 2 },
};

export const openPolicy: Policy = { version: 'open-1', rules: {} };

export function submit(overrides: Partial<SubmitRun> = {}): SubmitRun {
  return {
    type: 'SubmitRun',
    runId: 'run-1',
    tenantId: 'tenant-1',
    agentId: 'researcher',
    plan: { steps: [llmStep, transformStep] },
    budget: { maxCostMicros: 2_000_000 },
    seed: 7,
    policy: defaultPolicy,
    priceTable: defaultPriceTable,
    now: T0,
    ...overrides,
  };
}

/** Runs commands through the decider and returns every event they produced. */
export function history(...commands: RunCommand[]): RunEvent[] {
  const events: RunEvent[] = [];
  let state: RunState = initialState;
  for (const command of commands) {
    for (const event of runDecider.decide(command, state)) {
      events.push(event);
      state = evolve(state, event);
    }
  }
  return events;
}

export const evaluate = (ms: number): RunCommand => ({ type: 'EvaluateStep', now: at(ms) });
export const start = (ms: number, reservationId = 'res-1', estimateMicros = 40): RunCommand => ({
  type: 'StartAttempt',
  reservationId,
  reservedMicros: estimateMicros,
  estimateMicros,
  now: at(ms),
});
export const stubUsage = { model: 'stub', inputTokens: 1000, outputTokens: 500, cachedInputTokens: 2000 };
export const succeed = (ms: number, output: unknown = 'ok', usage = stubUsage): RunCommand => ({
  type: 'RecordOutcome',
  outcome: { ok: true, output, usage },
  latencyMs: 100,
  now: at(ms),
});
export const fail = (
  ms: number,
  errorCode: 'TIMEOUT' | 'HTTP_4XX' | 'HTTP_5XX' | 'RATE_LIMITED',
  extra = {},
) =>
  ({
    type: 'RecordOutcome',
    outcome: { ok: false, errorCode, message: `${errorCode} happened`, ...extra },
    latencyMs: 100,
    now: at(ms),
  }) as RunCommand;
