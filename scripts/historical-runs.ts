// Recorded runs for the historical reference dataset: the plans below run for real (the
// whole application on PGlite, the deterministic `stub` model, which uses 1..maxTokens output
// tokens a call), and the tenant's audit export is written to a file. The shipped
// estimators/datasets/historical.json was made with:
//   node bin/run-ts.js scripts/historical-runs.ts /tmp/historical-export.jsonl
//   node bin/aos.js datasets build --from-export /tmp/historical-export.jsonl --out estimators/datasets/historical.json
// tests/cli/datasets-build.test.ts does the same on PGlite and PostgreSQL with fewer runs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp } from '../api/app.ts';
import { loadConfig } from '../infra/config.ts';

type Request = (
  method: 'GET' | 'POST',
  url: string,
  key: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;

/** Plans of one to three stub calls, prompts of 2,000 to 12,000 characters, up to 5 iterations. */
export function historicalPlans(count: number) {
  return Array.from({ length: count }, (_, n) => {
    const call = (k: number) => ({
      skill: 'llm_invoke',
      input: {
        model: 'stub',
        prompt: `run ${n} call ${k} `.padEnd(2_000 * (1 + ((n + k) % 6)), 'lorem ipsum '),
        maxTokens: 256 * (1 + ((n * 3 + k) % 4)),
        iterations: 1 + ((n + 2 * k) % 5),
      },
    });
    const calls = Array.from({ length: 1 + (n % 3) }, (_, k) => call(k));
    // Every fourth plan fetches nothing and transforms its input too: steps that cost nothing.
    return n % 4 === 3
      ? [{ skill: 'json_transform', input: { expression: 'a', data: { a: n } } }, ...calls]
      : calls;
  });
}

async function waitUntilEnded(request: Request, key: string, runIds: readonly string[]) {
  for (const runId of runIds) {
    for (;;) {
      const run = (await request('GET', `/v1/runs/${runId}`, key)).body as { status: string };
      if (['succeeded', 'failed', 'cancelled'].includes(run.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Submits the plans with `operator`, waits until they end, and answers the export of the tenant. */
export async function recordHistoricalExport(
  request: Request,
  keys: { operator: string; auditor: string },
  count: number,
): Promise<string> {
  const runIds: string[] = [];
  for (const steps of historicalPlans(count)) {
    const submitted = await request('POST', '/v1/runs', keys.operator, {
      agentId: 'historian',
      plan: { steps },
      budget: { maxCostMicros: 1_000_000 },
    });
    if (submitted.status !== 202) throw new Error(`submission refused: ${JSON.stringify(submitted.body)}`);
    runIds.push((submitted.body as { runId: string }).runId);
  }
  await waitUntilEnded(request, keys.operator, runIds);
  const exported = await request('GET', '/v1/export', keys.auditor);
  if (exported.status !== 200) throw new Error(`export failed: ${JSON.stringify(exported.body)}`);
  return exported.body as string;
}

async function main(out: string) {
  const dataDir = await mkdtemp(join(tmpdir(), 'aos-historical-'));
  const bootstrap = `aos_historical_bootstrap_${'x'.repeat(40)}`;
  const app = await openApp(
    loadConfig({ AOS_DATA_DIR: dataDir, AOS_BOOTSTRAP_KEY: bootstrap, AOS_LOG_LEVEL: 'warn' }),
  );
  const request: Request = async (method, url, key, body) => {
    const response = await app.server.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    const text = response.body;
    return { status: response.statusCode, body: url === '/v1/export' ? text : JSON.parse(text) };
  };
  const keyOf = async (role: string) =>
    (
      (await request('POST', '/v1/admin/keys', bootstrap, { tenant: 'history', role })).body as {
        key: string;
      }
    ).key;
  try {
    const text = await recordHistoricalExport(
      request,
      { operator: await keyOf('operator'), auditor: await keyOf('auditor') },
      40,
    );
    await writeFile(out, text);
  } finally {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('historical-runs.ts')) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: historical-runs.ts EXPORT_FILE');
  await main(out);
}
