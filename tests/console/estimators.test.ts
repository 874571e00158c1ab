// The console's Estimators page in Chromium against the real server (PostgreSQL when
// reachable, else PGlite): the drift breaker's state and the canary's latest verdict with its
// history, after a passing canary and then one that finds v2 drifting (the price table changed).
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_KEY, startTestApp, type TestApp } from '../support/app.ts';
import { type ConsoleBrowser, openConsoleBrowser, screenshots, signIn } from '../support/console-browser.ts';
import { driftV2, recordRuns } from '../support/estimator-drift.ts';
import { postgresReachable } from '../support/postgres.ts';

describe('the Estimators page in Chromium', { timeout: 120_000 }, () => {
  let app: TestApp;
  let base: string;
  let viewer: string;
  let chromium: ConsoleBrowser;
  let page: Page;

  beforeAll(async () => {
    chromium = await openConsoleBrowser({ viewport: { width: 1280, height: 900 } });
    page = chromium.page;
    app = await startTestApp((await postgresReachable()) ? 'postgres' : 'pglite');
    base = await app.server.listen({ host: '127.0.0.1', port: 0 });
    const operator = await app.keyFor('acme', 'operator');
    viewer = await app.keyFor('acme', 'viewer');
    await recordRuns(app, operator, 3);
    const passing = await app.request('POST', '/v1/admin/estimators/canary', { key: SYSTEM_KEY });
    expect(passing.body.report.verdict).toBe('pass');
    expect((await driftV2(app)).verdict).toBe('fail');
  }, 180_000);

  afterAll(async () => {
    await chromium?.close();
    await app?.stop();
  });

  it('shows the latest verdict, which estimator is relied on, and the history', async () => {
    await page.goto(`${base}/console`);
    await signIn(page, viewer);
    await page.getByRole('link', { name: 'Estimators' }).click();
    await page.getByRole('heading', { name: 'Estimators', level: 1 }).waitFor();
    const latest = page.getByTestId('latest-verdict');
    await latest.waitFor();
    expect(await latest.textContent()).toMatch(
      /^fail .*on demand: 3 of 3 runs re-estimated under prices stub-times-100/,
    );
    expect(
      await page.getByText("v2 missed 100 % of the sampled runs' charges (P1)", { exact: true }).count(),
    ).toBe(1);
    expect(await page.getByTestId('basis').textContent()).toBe('Budgets and simulate rely on v1.');
    expect(await page.getByTestId('estimator-v2').textContent()).toMatch(/^v2 disabled P1 — canary /);
    const rows = page.getByTestId('canary-history').locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).locator('td').nth(1).textContent()).toBe('fail');
    expect(await rows.nth(1).locator('td').nth(1).textContent()).toBe('pass');
    await page.screenshot({ path: join(screenshots, 'desktop-estimators.png'), fullPage: true });
  });
});
