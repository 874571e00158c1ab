// `aos datasets build --from-export` on real recorded runs, on PGlite and PostgreSQL: every
// succeeded root run is a sample whose range starts at what it was charged; a failed run is
// left out; v2 passes the result and v1 fails it; an altered export is refused.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimatorDatasetSchema } from '../../domain/estimator-dataset.ts';
import { validateDataset } from '../../domain/estimator-validation.ts';
import { defaultPriceTable } from '../../domain/pricing.ts';
import { recordHistoricalExport } from '../../scripts/historical-runs.ts';
import { aos } from '../support/aos-cli.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

describe.each(stores)('aos datasets build --from-export on %s', { timeout: 180_000 }, (store) => {
  let app: TestApp;
  let dir: string;
  let file: string;
  let operator: string;
  let failedRunId: string;

  beforeAll(async () => {
    app = await startTestApp(store);
    operator = await app.keyFor('acme', 'operator');
    const auditor = await app.keyFor('acme', 'auditor');
    // A run that fails: its charges stop part way, so it must not become a sample.
    const failed = await app.request('POST', '/v1/runs', {
      key: operator,
      body: {
        agentId: 'historian',
        plan: {
          steps: [
            {
              skill: 'llm_invoke',
              input: { model: 'stub', prompt: 'broken', stub: { failAttempts: 9, errorCode: 'HTTP_5XX' } },
              retry: { initialDelayMs: 5, maxAttempts: 1 },
            },
          ],
        },
        budget: { maxCostMicros: 1_000_000 },
      },
    });
    failedRunId = failed.body.runId;
    await waitForRun(app, operator, failedRunId, ['failed']);
    const text = await recordHistoricalExport(
      (method, url, key, body) => app.request(method, url, { key, body }),
      { operator, auditor },
      6,
    );
    dir = await mkdtemp(join(tmpdir(), 'aos-datasets-'));
    file = join(dir, 'export.jsonl');
    await writeFile(file, text);
  });
  afterAll(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes each succeeded run a sample from its charge; v2 passes, v1 fails, as declared', async () => {
    const out = join(dir, 'historical.json');
    const built = await aos(['datasets', 'build', '--from-export', file, '--out', out]);
    expect(built.stderr).toContain('6 runs made samples; left out: 1 that did not succeed');
    expect(built.code).toBe(0);
    const dataset = estimatorDatasetSchema.parse(JSON.parse(await readFile(out, 'utf8')));
    expect(dataset.kind).toBe('historical');
    expect(dataset.samples.map((sample) => sample.id)).not.toContain(failedRunId);
    for (const sample of dataset.samples) {
      const run = await app.request('GET', `/v1/runs/${sample.id}`, { key: operator });
      expect(run.body.status).toBe('succeeded');
      const charged = (await app.store.readStream(`run-${sample.id}`))
        .filter((event) => event.type === 'CostCharged')
        .reduce((sum, event) => sum + (event.data as { chargedMicros: number }).chargedMicros, 0);
      expect(charged).toBeGreaterThan(0);
      expect(sample.expected).toEqual({ minMicros: charged, maxMicros: 2 * charged, feasible: true });
    }
    const report = validateDataset(dataset, defaultPriceTable);
    expect(report.estimators.map((result) => [result.estimator, result.verdict, result.asExpected])).toEqual([
      ['v1', 'fail', true],
      ['v2', 'pass', true],
    ]);
  });

  it('refuses an export whose events were altered, writing nothing', async () => {
    const lines = (await readFile(file, 'utf8')).split('\n');
    const index = lines.findIndex((line) => line.includes('"CostCharged"'));
    lines[index] = lines[index]!.replace(/"chargedMicros":(\d+)/, '"chargedMicros":1$1');
    const altered = join(dir, 'altered.jsonl');
    await writeFile(altered, lines.join('\n'));
    const out = join(dir, 'never.json');
    const built = await aos(['datasets', 'build', '--from-export', altered, '--out', out]);
    expect(built.code).not.toBe(0);
    expect(built.stderr).toContain('does not verify');
    await expect(readFile(out)).rejects.toThrow();
  });
});
