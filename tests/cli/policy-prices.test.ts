// `aos policy set|get|history` and `aos prices set|get|history` as a user runs them: real
// processes talking to a real server, which validates the files and names a bad field.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPriceTable } from '../../domain/pricing.ts';
import { aos } from '../support/aos-cli.ts';
import { SYSTEM_KEY, startTestApp, type TestApp } from '../support/app.ts';

describe('aos policy and aos prices', { timeout: 180_000 }, () => {
  let app: TestApp;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    app = await startTestApp('pglite');
    url = await app.server.listen({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(join(tmpdir(), 'aos-cli-'));
  });
  afterAll(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("sets the tenant's policy from a file, shows it and its history; a bad file names the field", async () => {
    const env = { AOS_URL: url, AOS_API_KEY: await app.keyFor('acme', 'admin') };
    const file = join(dir, 'policy.json');
    await writeFile(file, JSON.stringify({ version: 'strict-1', rules: { denySkills: ['http_call'] } }));
    const set = await aos(['policy', 'set', file], env);
    expect(set.code).toBe(0);
    expect(set.stderr).toContain('policy strict-1 is in force');
    expect(JSON.parse(set.stdout)).toMatchObject({
      version: 'strict-1',
      rules: { denySkills: ['http_call'] },
    });
    const again = await aos(
      ['policy', 'set', '-'],
      env,
      JSON.stringify({ version: 'strict-1', rules: { denySkills: ['http_call'] } }),
    );
    expect(again.stderr).toContain('already in force');

    const got = await aos(['policy', 'get'], env);
    expect(JSON.parse(got.stdout)).toMatchObject({ version: 'strict-1', source: 'published' });
    const history = await aos(['policy', 'history'], env);
    expect(JSON.parse(history.stdout).map((p: { version: string }) => p.version)).toEqual(['strict-1']);

    await writeFile(file, JSON.stringify({ version: 'strict-2', rules: { httpDenyHosts: ['http://x'] } }));
    const bad = await aos(['policy', 'set', file], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^aos: 400 INVALID_INPUT: .*rules\.httpDenyHosts\[0\]/m);
    const operator = await aos(['policy', 'set', file], {
      ...env,
      AOS_API_KEY: await app.keyFor('acme', 'operator'),
    });
    expect(operator.stderr).toMatch(/403/);
  });

  it('adopts a price table with the system key and shows the one in force and every one before', async () => {
    const env = { AOS_URL: url, AOS_API_KEY: SYSTEM_KEY };
    const file = join(dir, 'prices.json');
    await writeFile(file, JSON.stringify({ ...defaultPriceTable, version: 'cli-prices-1' }));
    const set = await aos(['prices', 'set', file], env);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ version: 'cli-prices-1', position: 1 });
    expect(JSON.parse((await aos(['prices', 'get'], env)).stdout).version).toBe('cli-prices-1');
    const history = JSON.parse((await aos(['prices', 'history'], env)).stdout);
    expect(history.map((t: { version: string }) => t.version)).toEqual(['aos-default-1', 'cli-prices-1']);
    await writeFile(file, '{"version": "x", "models": {}');
    const notJson = await aos(['prices', 'set', file], env);
    expect(notJson.stderr).toContain('is not JSON');
  });
});
