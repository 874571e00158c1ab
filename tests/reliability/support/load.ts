// The load side of a scenario: submits runs with idempotency keys over HTTP and retries
// every request that was not acknowledged, with its key, until it is.
export interface LoadResult {
  /** Idempotency key → run id, for every acknowledged (2xx) submission. */
  acknowledged: Map<string, string>;
  attempts: number;
  fiveXX: number;
  statuses: Record<string, number>;
}

export interface LoadOptions {
  url: () => string;
  key: string;
  count: number;
  concurrency: number;
  body: (i: number) => unknown;
  /** Stop retrying after this long (the scenario then reports what is still unacknowledged). */
  deadlineMs: number;
  /** Status codes a scenario expects while its fault lasts (e.g. 503): retried, not 5xx-counted. */
  expectedDuringFault?: number[];
  /** Told the number acknowledged so far after each acknowledgement (to start a fault mid-load). */
  onAcknowledged?: (acknowledged: number) => void;
}

export async function submitUnderLoad(options: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { acknowledged: new Map(), attempts: 0, fiveXX: 0, statuses: {} };
  const deadline = Date.now() + options.deadlineMs;
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= options.count) return;
      const key = `load-${i}`;
      while (Date.now() < deadline) {
        result.attempts++;
        const response = await fetch(`${options.url()}/v1/runs`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${options.key}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify(options.body(i)),
          signal: AbortSignal.timeout(10_000),
        }).catch(() => undefined);
        const status = response ? String(response.status) : 'no answer';
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
        if (response && response.status >= 200 && response.status < 300) {
          result.acknowledged.set(key, ((await response.json()) as { runId: string }).runId);
          options.onAcknowledged?.(result.acknowledged.size);
          break;
        }
        if (response && response.status >= 500 && !options.expectedDuringFault?.includes(response.status)) {
          result.fiveXX++;
        }
        await response?.body?.cancel().catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return result;
}

/**
 * A run body for the load: one call of the stub model (answering after `delayMs`, when given),
 * then, with `transform`, a json_transform step that returns it.
 */
export function stubModelRun(
  agentId: string,
  prompt: string,
  options: { delayMs?: number; transform?: number } = {},
) {
  const { delayMs, transform } = options;
  return {
    agentId,
    plan: {
      steps: [
        {
          skill: 'llm_invoke',
          input: {
            model: 'stub',
            prompt,
            maxTokens: 8,
            ...(delayMs === undefined ? {} : { stub: { delayMs } }),
          },
        },
        ...(transform === undefined
          ? []
          : [{ skill: 'json_transform', input: { expression: 'n', data: { n: transform } } }]),
      ],
    },
    budget: { maxCostMicros: 1_000_000 },
  };
}
