// Failure as data in the console, in Chromium against the real server (PostgreSQL when
// reachable, else PGlite): the Failures page lists the tenant's circuit breakers (a local
// provider failing every call opened one) and its failures by code; a run's approval shows who
// may decide it and, once nobody did in time, that it escalated (an admin may then decide it);
// and every page shows a banner while an emergency stop holds the tenant, gone after the resume.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDist } from '../../api/routes/console.ts';
import { SYSTEM_KEY, startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const chromiumPath = process.env.AOS_CHROMIUM ?? '/usr/bin/chromium';
const screenshots = new URL('./screenshots/', import.meta.url).pathname;

describe('failures, escalations and the emergency stop in the console (Chromium)', {
  timeout: 120_000,
}, () => {
  let app: TestApp;
  let base: string;
  let admin: string;
  let operator: string;
  let provider: Server;
  let host: string;
  let userDataDir: string;
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(join(consoleDist, 'index.html'))) {
      throw new Error(`the console is not built (${consoleDist}): run \`npm run build:console\``);
    }
    if (!existsSync(chromiumPath))
      throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium`);
    app = await startTestApp((await postgresReachable()) ? 'postgres' : 'pglite');
    base = await app.server.listen({ host: '127.0.0.1', port: 0 });
    admin = await app.keyFor('acme', 'admin');
    operator = await app.keyFor('acme', 'operator');
    // A provider failing every call.
    provider = createServer((_req, res) => {
      res.statusCode = 503;
      res.end('overloaded');
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(provider.address() as AddressInfo).port}`;
    // Breakers open after 2 failures; json_transform waits for an operator's approval, and an
    // admin joins once it has waited 1 s.
    const policy = (await app.request('GET', '/v1/policy', { key: admin })).body;
    const rules = {
      ...policy.rules,
      circuitBreaker: { failureThreshold: 2, windowMs: 60_000, cooldownMs: 600_000 },
      requireApprovalSkills: ['json_transform'],
      approverRoles: ['operator'],
      escalateAfterMs: 1_000,
      approvalTimeoutMs: 600_000,
    };
    const put = await app.request('PUT', '/v1/policy', { key: admin, body: { version: 'console-1', rules } });
    expect(put.status).toBe(200);
    userDataDir = await mkdtemp(join(tmpdir(), 'aos-chromium-'));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(15_000);
    await page.goto(`${base}/console`);
    await page.getByLabel('API key').fill(admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    provider?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  const submit = async (steps: unknown[]) => {
    const submitted = await app.request('POST', '/v1/runs', {
      key: operator,
      body: { agentId: 'console-failures', plan: { steps }, budget: { maxCostMicros: 100_000 } },
    });
    expect(submitted.status).toBe(202);
    return submitted.body.runId as string;
  };

  it('lists the circuit breakers and the failures by code', async () => {
    for (let i = 0; i < 2; i++) {
      const runId = await submit([
        { skill: 'http_call', input: { url: `http://${host}/data` }, retry: { maxAttempts: 1 } },
      ]);
      await waitForRun(app, operator, runId, ['failed'], 30_000);
    }
    await page.getByRole('link', { name: 'Failures' }).click();
    await page.getByRole('heading', { name: 'Failures', level: 1 }).waitFor();
    const breaker = page.getByTestId(`breaker-http_call:${host}`);
    // The projection may lag the runs' ends by a moment: it may show the breaker before it has
    // folded the second failure, which opens it. Reload until it shows the breaker open.
    const state = async () =>
      (await breaker.count()) === 0 ? undefined : await breaker.locator('td').nth(0).textContent();
    for (let i = 0; i < 50 && (await state()) !== 'open'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await page.reload();
      await page.getByRole('heading', { name: 'Failures', level: 1 }).waitFor();
    }
    expect(await breaker.locator('td').nth(0).textContent()).toBe('open');
    expect(await breaker.locator('td').nth(1).textContent()).toMatch(
      /^calls refused until .+, then one probe$/,
    );
    const failures = page.getByTestId('failures').locator('tbody tr');
    await failures.first().waitFor();
    expect(await failures.first().locator('th').textContent()).toBe('HTTP_5XX');
    expect(await failures.first().locator('td').nth(0).textContent()).toBe('2');
    await page.screenshot({ path: join(screenshots, 'desktop-failures.png'), fullPage: true });
  });

  it('shows who may decide an approval, and that it escalated to the admins', async () => {
    const runId = await submit([{ skill: 'json_transform', input: { expression: 'a', data: { a: 1 } } }]);
    await waitForRun(app, operator, runId, ['waiting_approval'], 30_000);
    await page.goto(`${base}/console/#/runs/${runId}`);
    const escalation = page.getByTestId('escalation');
    await escalation.waitFor();
    // Until the escalation an admin may not decide (unless it has escalated already: a loaded machine).
    const before = await page.getByTestId(/^approval-/).textContent();
    if (!before?.includes('escalated')) {
      expect(before).toMatch(/Now operator may decide; if still undecided it escalates /);
      expect(before).toMatch(/An admin key may decide this approval once it escalates/);
    }
    // The executor escalates it after 1 s; the page follows the run.
    await page
      .getByText(/nobody decided in time, so now operator or admin may decide/)
      .waitFor({ timeout: 30_000 });
    expect(await escalation.locator('.badge').textContent()).toBe('escalated');
    await page.getByText('Approval escalated').first().waitFor();
    await page.screenshot({ path: join(screenshots, 'desktop-run-escalated.png'), fullPage: true });
    await page.getByRole('button', { name: 'Approve' }).click();
    await waitForRun(app, operator, runId, ['succeeded'], 30_000);
  });

  it('shows a banner on every page while an emergency stop holds the tenant', async () => {
    await page.goto(`${base}/console/#/runs`);
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    expect(await page.getByTestId('emergency-banner').textContent()).toBe('');
    const stopped = await app.request('POST', '/v1/admin/emergency-stop', {
      key: SYSTEM_KEY,
      body: { tenant: 'acme', reason: 'provider incident' },
    });
    expect(stopped.status).toBe(200);
    const banner = page.getByRole('alert').filter({ hasText: 'Emergency stop in force' });
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(
      /^Emergency stop in force for tenant acme since .+ \(by system .+: “provider incident”\)\. No attempt starts; runs wait paused/,
    );
    // A run submitted now waits paused, and the list says so.
    const runId = await submit([{ skill: 'llm_invoke', input: { model: 'stub', prompt: 'hi' } }]);
    await waitForRun(app, operator, runId, ['paused'], 30_000);
    await page.locator(`tr[data-run="${runId}"]`).getByText('paused').waitFor();
    await page.screenshot({ path: join(screenshots, 'desktop-emergency-stop.png'), fullPage: true });
    await page.getByRole('link', { name: 'Failures' }).click();
    await banner.waitFor();
    await app.request('POST', '/v1/admin/emergency-stop/resume', {
      key: SYSTEM_KEY,
      body: { tenant: 'acme' },
    });
    await banner.waitFor({ state: 'detached' });
    await waitForRun(app, operator, runId, ['succeeded'], 30_000);
  });
});
