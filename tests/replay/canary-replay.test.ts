// Canary verdicts replayed, on PGlite and PostgreSQL: the installation's events (tenant
// `system`: the price tables, an uploaded dataset, two canaries — one passing, one that found v2
// drifting under a dearer table) are exported, and `aos replay` judges each recorded canary
// again and gets the same report; under a what-if price table the verdicts change where they
// should; an export lacking a dataset a canary named says which; an altered verdict differs.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedDatasets } from '../../api/shipped-datasets.ts';
import { canonicalHash } from '../../domain/hashing.ts';
import { defaultPriceTable } from '../../domain/pricing.ts';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { generateSigningKeyPem, parsePrivateKey, signingKeyFrom } from '../../infra/signing/signing-key.ts';
import { CanaryReplay } from '../../replay/canary-replay.ts';
import { openExport } from '../../replay/export.ts';
import { aos } from '../support/aos-cli.ts';
import { SYSTEM_KEY, startTestApp, type TestApp } from '../support/app.ts';
import { dearerStub, driftV2, recordRuns } from '../support/estimator-drift.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);
const shipped = (await shippedDatasets()).map((dataset) => ({ dataset, hash: canonicalHash(dataset) }));

describe.each(stores)('canary verdicts replayed on %s', { timeout: 180_000 }, (store) => {
  let app: TestApp;
  let dir: string;
  let file: string;
  let events: RecordedEvent[];

  beforeAll(async () => {
    app = await startTestApp(store);
    const operator = await app.keyFor('acme', 'operator');
    await recordRuns(app, operator, 3);
    const noise = shipped.find((entry) => entry.dataset.name === 'injected-noise')!.dataset;
    const upload = await app.request('PUT', '/v1/admin/estimator-datasets/team-noise', {
      key: SYSTEM_KEY,
      body: { ...noise, name: 'team-noise' },
    });
    expect(upload.status).toBe(200);
    expect(
      (await app.request('POST', '/v1/admin/estimators/canary', { key: SYSTEM_KEY })).body.report.verdict,
    ).toBe('pass');
    expect((await driftV2(app)).verdict).toBe('fail');
    const signer = signingKeyFrom(parsePrivateKey(generateSigningKeyPem(), 'test'), 'test');
    let text = '';
    for await (const chunk of await openExport(app.store, { tenantId: 'system' }, { signer })) text += chunk;
    dir = await mkdtemp(join(tmpdir(), 'aos-canary-replay-'));
    file = join(dir, 'system.jsonl');
    await writeFile(file, text);
    events = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((line) => line.type !== undefined);
  }, 240_000);
  afterAll(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reproduces every recorded canary report (aos replay)', async () => {
    const out = join(dir, 'out');
    const replayed = await aos(['replay', file, '--out', out, '--json', '--no-progress']);
    expect(replayed.code).toBe(0);
    const summary = JSON.parse(replayed.stdout);
    expect(summary.canaries).toEqual({ canaries: 2, reproduced: 2, differed: [], unverifiable: [] });
    expect(JSON.parse(await readFile(join(out, 'canaries.json'), 'utf8')).reproduced).toBe(2);
  });

  it('re-runs the canaries under a what-if price table', async () => {
    const prices = join(dir, 'prices.json');
    await writeFile(prices, JSON.stringify(dearerStub));
    const replayed = await aos(['replay', file, '--out', join(dir, 'what-if'), '--what-if-prices', prices]);
    expect(replayed.stdout).toContain('canaries    2 of 2 verdicts reproduced');
    expect(replayed.stdout).toContain('canaries under stub-times-100: 1 of 2 verdicts change');
    // The same under the default table: the drifting one passes.
    const session = new CanaryReplay(shipped, {
      ...defaultPriceTable,
      hash: canonicalHash(defaultPriceTable.models),
    });
    for (const event of events) session.add(event);
    expect(session.finish()!.whatIf!.canaries.map((c) => [c.recorded, c.whatIf])).toEqual([
      ['pass', 'pass'],
      ['fail', 'pass'],
    ]);
  });

  it('says what an export lacks, and catches an altered verdict', () => {
    const withoutUpload = new CanaryReplay(shipped);
    for (const event of events) if (event.type !== 'EstimatorDatasetUploaded') withoutUpload.add(event);
    expect(withoutUpload.finish()!.unverifiable).toEqual([
      expect.objectContaining({ missing: ['dataset team-noise v2'] }),
      expect.objectContaining({ missing: ['dataset team-noise v2'] }),
    ]);
    const altered = new CanaryReplay(shipped);
    for (const event of events) {
      const data = event.data as { verdict?: string };
      altered.add(
        event.type === 'CanaryCompleted' && data.verdict === 'fail'
          ? { ...event, data: { ...data, verdict: 'pass' } }
          : event,
      );
    }
    expect(altered.finish()!.differed).toEqual([
      expect.objectContaining({ recordedVerdict: 'pass', replayedVerdict: 'fail' }),
    ]);
  });
});
