// `aos submit` and `aos runs` as a user runs them: real processes talking to a real server.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aos } from '../support/aos-cli.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { examplePlan } from '../support/example-plan.ts';

describe('aos submit and aos runs', () => {
  let app: TestApp;
  let env: Record<string, string>;
  let dir: string;
  beforeAll(async () => {
    app = await startTestApp('pglite');
    const address = await app.server.listen({ host: '127.0.0.1', port: 0 });
    env = { AOS_URL: address, AOS_API_KEY: await app.keyFor('acme', 'operator') };
    dir = await mkdtemp(join(tmpdir(), 'aos-cli-'));
  });
  afterAll(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('submits a plan from a file and follows it to succeeded; the same key again is the same run', async () => {
    const file = join(dir, 'plan.json');
    await writeFile(file, JSON.stringify(examplePlan));
    const done = await aos(['submit', file, '--idempotency-key', 'cli-1', '--wait'], env);
    expect(done.stderr).toContain('waiting for it to finish');
    expect(done.code).toBe(0);
    const detail = JSON.parse(done.stdout);
    expect(detail).toMatchObject({ status: 'succeeded', agentId: 'researcher', steps: [{}, {}] });
    const again = await aos(['submit', '--idempotency-key', 'cli-1'], env, JSON.stringify(examplePlan));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ runId: detail.runId });

    const events = await aos(['runs', detail.runId, '--events'], env);
    expect(JSON.parse(events.stdout).events.map((e: { type: string }) => e.type)).toContain('RunCompleted');
    // The list is a projection: it shows the run once the runner has caught up.
    for (let i = 0; ; i++) {
      const list = await aos(['runs', '--status', 'succeeded'], env);
      expect(list.code).toBe(0);
      if (list.stdout.includes(detail.runId)) {
        expect(list.stdout).toMatch(/^run id\s+status\s+agent/);
        break;
      }
      if (i > 40) throw new Error(`run not listed: ${list.stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const json = JSON.parse((await aos(['runs', '--json', '--limit', '1'], env)).stdout);
    expect(json.items).toHaveLength(1);
  }, 120_000);

  it('says what is wrong: bad JSON, a refused plan, a missing key', async () => {
    const bad = await aos(['submit'], env, '{"agentId":');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('stdin is not JSON');
    const refused = await aos(['submit'], env, JSON.stringify({ ...examplePlan, budget: {} }));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^aos: 400 /);
    // A refused option is named as typed, with the query parameter it became.
    const since = await aos(['runs', '--since', 'yesterday'], env);
    expect(since.code).toBe(1);
    expect(since.stderr).toMatch(/^aos: --since \(start_time\): /);
    const cursor = await aos(['runs', '--cursor', 'WyJub3QtYS1kYXRlIiwieCJd'], env);
    expect(cursor.code).toBe(1);
    expect(cursor.stderr).toMatch(/^aos: --cursor: /);
    const noKey = await aos(['runs'], { AOS_URL: env.AOS_URL!, AOS_API_KEY: '' });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('set AOS_API_KEY');
  }, 120_000);
});
