// The web console in a real browser (Debian's Chromium driven by playwright-core) against the
// real server: sign in, watch a submitted run finish in the list, read its timeline, see a DAG
// plan's parallel lanes, its skipped branch and a failed run's compensations, links to parent
// and child runs, approve a waiting step, download the status history as CSV and a signed
// export, and check that another tenant's key sees none of it. Screenshots of every page, at desktop and phone width, are
// written to tests/console/screenshots/ (committed as evidence of what the pages look like).
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import {
  type ConsoleBrowser,
  openConsoleBrowser,
  screenshots,
  signIn as signInWith,
} from '../support/console-browser.ts';
import { postgresReachable } from '../support/postgres.ts';

const desktop = { width: 1280, height: 900 };
const phone = { width: 390, height: 844 };

describe('web console in Chromium', () => {
  let app: TestApp;
  let base: string;
  let admin: string;
  let otherTenant: string;
  let target: Server;
  let targetUrl: string;
  let chromium: ConsoleBrowser;
  let page: Page;

  beforeAll(async () => {
    chromium = await openConsoleBrowser({ viewport: desktop, acceptDownloads: true });
    page = chromium.page;
    app = await startTestApp((await postgresReachable()) ? 'postgres' : 'pglite');
    base = await app.server.listen({ host: '127.0.0.1', port: 0 });
    admin = await app.keyFor('acme', 'admin');
    otherTenant = await app.keyFor('globex', 'admin');
    // The side-effecting call's target: a POST needs an approval under the default policy.
    // /answer/<n> answers after 400 ms (parallel steps overlap), /big with 20 kB (shown
    // truncated), /missing with a 404.
    target = createServer((req, res) => {
      const url = req.url ?? '';
      const answer = /^\/answer\/(\d+)/.exec(url)?.[1];
      setTimeout(
        () => {
          if (url.startsWith('/missing')) {
            res.statusCode = 404;
            res.end('no such thing');
          } else if (url.startsWith('/big')) {
            res.setHeader('content-type', 'application/json');
            res.end(
              JSON.stringify({ rows: Array.from({ length: 400 }, (_, n) => ({ n, text: 'x'.repeat(40) })) }),
            );
          } else {
            res.setHeader('content-type', 'application/json');
            res.end(answer === undefined ? '{"ok":true}' : JSON.stringify({ answer: `answer-${answer}` }));
          }
        },
        answer === undefined ? 0 : 400,
      );
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    await chromium?.close();
    await app?.stop();
    target?.close();
  });

  const submit = async (body: unknown): Promise<string> => {
    const response = await fetch(`${base}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.clone().text()).toBe(202);
    return ((await response.json()) as { runId: string }).runId;
  };
  const shoot = (name: string) => page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  const signIn = (key: string) => signInWith(page, key);
  // Browser-side expressions go as text: this file is compiled with Node's types, not the DOM's.
  const inBrowser = (expression: string) => page.evaluate<unknown>(expression);
  const runRow = (runId: string) => page.locator(`tr[data-run="${runId}"]`);

  let finished: string;
  let waiting: string;

  it('signs in with a key, and shows a submitted run finishing in the live list', async () => {
    await page.goto(`${base}/console`);
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'unknown or revoked' }).waitFor();
    await page.getByLabel('API key').fill('');
    await shoot('desktop-sign-in');
    await signIn(admin);
    await page.getByText('No runs yet.').waitFor();
    expect(await inBrowser("sessionStorage.getItem('aos.apiKey')")).toBe(admin);
    expect(await inBrowser('localStorage.length')).toBe(0);

    finished = await submit({
      agentId: 'researcher',
      plan: {
        steps: [
          {
            skill: 'llm_invoke',
            input: {
              model: 'stub',
              prompt: 'Summarise X',
              maxTokens: 16,
              stub: { failAttempts: 1, errorCode: 'HTTP_5XX' },
            },
            retry: { maxAttempts: 3, initialDelayMs: 150 },
          },
          { skill: 'json_transform', input: { expression: 'items[0]', data: { items: [1, 2] } } },
        ],
      },
      budget: { maxCostMicros: 2_000_000 },
      seed: 7,
    });
    waiting = await submit({
      agentId: 'notifier',
      plan: {
        steps: [
          {
            skill: 'http_call',
            input: { url: targetUrl, method: 'POST', body: { a: 1 }, idempotencyKey: 'hook-1' },
          },
        ],
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    // No reload: the list refreshes itself.
    await runRow(finished).locator('.badge', { hasText: 'succeeded' }).waitFor();
    await runRow(waiting).locator('.badge', { hasText: 'waiting approval' }).waitFor();
    await shoot('desktop-runs');
  });

  it('opens the timeline of the finished run: attempts, the retry wait, charges, policy decisions', async () => {
    await runRow(finished).getByRole('link').click();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    const step1 = page.locator('[data-step="0"]');
    await step1.getByText('Attempt 1 failed: HTTP_5XX').waitFor();
    // 150 ms and its jitter.
    await step1.getByText(/^Retry after \d+ ms$/).waitFor();
    await step1.getByText('Attempt 2 succeeded').waitFor();
    expect(await step1.getByText(/^Charged \$/).count()).toBeGreaterThanOrEqual(1);
    expect(await step1.getByText('Policy: allow').count()).toBe(2);
    await page.locator('[data-step="1"]').getByText('Step succeeded').waitFor();
    await page.locator('dl.summary .badge', { hasText: 'succeeded' }).waitFor();
    await shoot('desktop-run-timeline');
  });

  let dag: string;
  let compensated: string;
  const laneOf = async (stepIndex: number) =>
    Number(
      await page
        .locator(`li[data-lane-step="${stepIndex}"]`)
        .first()
        .evaluate((li) => li.parentElement?.dataset.lane),
    );

  it('draws a DAG plan as parallel lanes, with its skipped branch, resolved inputs, truncated output and the run output', async () => {
    const fetches = [1, 2, 3, 4].map((n) => ({
      id: `fetch_${n}`,
      skill: 'http_call',
      dependsOn: [],
      input: { url: targetUrl.replace('/hook', `/answer/${n}`) },
    }));
    dag = await submit({
      agentId: 'researcher',
      input: { tier: 'basic' },
      plan: {
        maxParallel: 5,
        steps: [
          ...fetches,
          {
            id: 'archive',
            skill: 'http_call',
            dependsOn: [],
            input: { url: targetUrl.replace('/hook', '/big') },
          },
          {
            id: 'premium',
            skill: 'http_call',
            dependsOn: [],
            when: "input.tier == 'premium'",
            input: { url: targetUrl.replace('/hook', '/premium') },
          },
          {
            id: 'join',
            skill: 'json_transform',
            dependsOn: fetches.map((f) => f.id),
            input: {
              expression: '[*].answer',
              data: fetches.map((f) => ({ $ref: `steps.${f.id}.output.body` })),
            },
          },
        ],
        output: { answers: { $ref: 'steps.join.output' } },
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    await page.goto(`${base}/console/#/runs/${dag}`);
    await page.locator('dl.summary .badge', { hasText: 'succeeded' }).waitFor();
    const lanes = page.getByRole('region', { name: 'Lanes' });
    await lanes.waitFor();
    // Steps whose spans overlap are never in one lane; the fetches ran at once, so in several.
    const spans = await lanes
      .locator('ol.lane')
      .evaluateAll((lists) =>
        lists.map((list) =>
          [...list.querySelectorAll('li')].map((li) => [Number(li.dataset.start), Number(li.dataset.end)]),
        ),
      );
    for (const lane of spans) {
      for (let i = 1; i < lane.length; i++) expect(lane[i]![0]).toBeGreaterThanOrEqual(lane[i - 1]![1]!);
    }
    expect(new Set(await Promise.all([0, 1, 2, 3].map(laneOf))).size).toBeGreaterThanOrEqual(2);
    expect(spans.length).toBeGreaterThanOrEqual(3);
    await lanes.locator('li[data-lane-step="0"]').getByText('fetch_1 · http_call').waitFor();
    await lanes.locator('li.segment-skipped').getByText('premium · http_call').waitFor();
    const premium = page.locator('[data-step="5"]');
    await premium.locator('h3 .badge', { hasText: 'skipped' }).waitFor();
    await premium.getByText(`Skipped: when "input.tier == 'premium'" is false`).waitFor();
    const joinStep = page.locator('[data-step="6"]');
    await joinStep.locator('[data-value="input"] pre', { hasText: 'answer-4' }).waitFor();
    await joinStep.locator('[data-value="output"] pre', { hasText: 'answer-1' }).waitFor();
    const archive = page.locator('[data-step="4"] [data-value="output"]');
    await archive.getByText('truncated', { exact: true }).waitFor();
    await archive.getByText(/^Only the start is shown; the whole value has hash [0-9a-f]{64}\.$/).waitFor();
    await page.getByRole('region', { name: 'Output' }).locator('pre', { hasText: 'answer-3' }).waitFor();
    // Without links to other runs in the detail, none are shown.
    expect(await page.getByRole('region', { name: 'Child runs' }).count()).toBe(0);
    expect(await page.getByText('Parent run').count()).toBe(0);
    await shoot('desktop-run-lanes');
    await lanes.screenshot({ path: join(screenshots, 'desktop-run-lanes-detail.png') });
  });

  it("shows a failed run's compensations after the steps they undid, marked", async () => {
    const undo = (id: string) => ({
      skill: 'http_call',
      input: { url: targetUrl.replace('/hook', `/undo/${id}`) },
    });
    compensated = await submit({
      agentId: 'booker',
      plan: {
        steps: [
          {
            id: 'flight',
            skill: 'http_call',
            input: { url: targetUrl.replace('/hook', '/answer/7') },
            compensate: undo('flight'),
          },
          {
            id: 'hotel',
            skill: 'http_call',
            input: { url: targetUrl.replace('/hook', '/answer/8') },
            compensate: undo('hotel'),
          },
          {
            id: 'pay',
            skill: 'http_call',
            input: { url: targetUrl.replace('/hook', '/missing/pay') },
            onFailure: 'compensate',
            retry: { maxAttempts: 1 },
          },
        ],
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    await page.goto(`${base}/console/#/runs/${compensated}`);
    await page.locator('dl.summary .badge', { hasText: 'failed' }).waitFor();
    const lanes = page.getByRole('region', { name: 'Lanes' });
    await lanes.locator('li.segment-compensation').nth(1).waitFor();
    // In the order they ran (hotel undone first), after the failed step, each marked.
    const segments = await lanes
      .locator('li[data-lane-step]')
      .evaluateAll((items) =>
        items
          .map((li) => ({ kind: li.dataset.kind, start: Number(li.dataset.start), text: li.textContent }))
          .sort((a, b) => a.start - b.start),
      );
    expect(segments.map((segment) => segment.text)).toEqual([
      'flight · http_call compensated',
      'hotel · http_call compensated',
      'pay · http_call failed',
      '↩ undo hotel compensated',
      '↩ undo flight compensated',
    ]);
    for (const index of [0, 1]) {
      const step = page.locator(`[data-step="${index}"]`);
      await step.locator('h3 .badge', { hasText: 'compensated' }).waitFor();
      await step.getByText('Compensation attempt 1 succeeded').waitFor();
      await step.getByText('Compensated', { exact: true }).waitFor();
    }
    await page.locator('[data-step="2"] h3 .badge', { hasText: 'failed' }).waitFor();
    await page.getByText('Compensation requested').waitFor();
    await shoot('desktop-run-compensation');
    await lanes.screenshot({ path: join(screenshots, 'desktop-run-compensation-lanes.png') });
  });

  it('links a run to the child run it invoked, and the child back to its parent', async () => {
    const parent = await submit({
      agentId: 'console',
      plan: {
        steps: [
          {
            id: 'delegate',
            skill: 'agent_invoke',
            input: {
              agentId: 'helper',
              plan: { steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt: 'help' } }] },
              budget: { maxCostMicros: 100_000 },
            },
          },
        ],
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    let child = '';
    for (let i = 0; i < 400 && !child; i++) {
      const detail = await fetch(`${base}/v1/runs/${parent}`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      const body = (await detail.json()) as { status: string; children: Array<{ runId: string }> };
      if (body.status === 'succeeded') child = body.children[0]!.runId;
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(child).not.toBe('');
    await page.goto(`${base}/console/#/runs/${parent}`);
    const children = page.getByRole('region', { name: 'Child runs' });
    await children.locator(`tr[data-child="${child}"]`).getByText('invoke (waited for)').waitFor();
    await children.locator(`tr[data-child="${child}"] .badge`, { hasText: 'succeeded' }).waitFor();
    await page.getByText('Child run started (waited for)').waitFor();
    await page.getByText('Child run succeeded').waitFor();
    await shoot('desktop-run-children');
    await children.getByRole('link', { name: child }).click();
    await page.locator('h2.run-id code', { hasText: child }).waitFor();
    expect(await inBrowser('location.hash')).toBe(`#/runs/${child}`);
    await page.locator('dl.summary').getByRole('link', { name: parent }).click();
    await page.locator('h2.run-id code', { hasText: parent }).waitFor();
    expect(await inBrowser('location.hash')).toBe(`#/runs/${parent}`);
  });

  it('approves a waiting step with the Approve button, and the run goes on to succeed', async () => {
    await page.goto(`${base}/console/#/runs/${waiting}`);
    const panel = page.getByRole('region', { name: 'Waiting for approval' });
    await panel.waitFor();
    await shoot('desktop-run-approval');
    await panel.getByLabel('Comment (optional)').fill('looks fine');
    await panel.getByRole('button', { name: 'Approve' }).click();
    await page.locator('dl.summary .badge', { hasText: 'succeeded' }).waitFor();
    await page.getByText('“looks fine”').waitFor();
    expect(await page.getByRole('region', { name: 'Waiting for approval' }).count()).toBe(0);
  });

  it('downloads the status history of a run as CSV in the original columns', async () => {
    await page.goto(`${base}/console/#/history?entity_id=${finished}`);
    await page.locator('tbody tr').first().waitFor();
    await shoot('desktop-status-history');
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(file.suggestedFilename()).toBe('status_history.csv');
    const csv = await readFile((await file.path())!, 'utf8');
    const [header, ...rows] = csv.trim().split('\n');
    expect(header).toBe(
      'id,entity_type,entity_id,old_status,new_status,actor_type,actor_id,reason,tenant_id,correlation_id,metadata,created_at,sequence,global_position,event_id',
    );
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.every((row) => row.includes(finished))).toBe(true);
    expect(rows.some((row) => row.includes(',succeeded,'))).toBe(true);
  });

  it('charts costs by day, skill and model, and divergence with its alert state', async () => {
    await page.goto(`${base}/console/#/costs`);
    for (const group of ['day', 'skill', 'model']) {
      await page
        .getByRole('region', { name: `By ${group}` })
        .locator('canvas')
        .waitFor();
    }
    await page
      .getByRole('region', { name: 'By skill' })
      .getByRole('rowheader', { name: 'llm_invoke' })
      .waitFor();
    await shoot('desktop-costs');

    await page.goto(`${base}/console/#/divergence`);
    await page.getByRole('region', { name: 'Drift over time' }).locator('canvas').waitFor();
    await page.getByText(/^(No drift alert|Drift alert)$/).waitFor();
    expect(Number(await page.locator('dl.figures dd').first().textContent())).toBeGreaterThan(0);
    await shoot('desktop-divergence');
  });

  it('downloads a signed export of a run', async () => {
    await page.goto(`${base}/console/#/export`);
    await page.getByLabel('Run id').fill(finished);
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download signed export' }).click(),
    ]);
    const lines = (await readFile((await file.path())!, 'utf8')).trim().split('\n');
    expect(JSON.parse(lines.at(-1)!).manifest).toMatchObject({ count: lines.length - 1 });
    await page.getByText(/^Downloaded run-.*signed by key/).waitFor();
    await shoot('desktop-export');
  });

  it('is readable at phone width', async () => {
    await page.setViewportSize(phone);
    const views: [string, string, () => Promise<void>][] = [
      ['runs', '#/runs', () => runRow(finished).waitFor()],
      ['run-timeline', `#/runs/${finished}`, () => page.getByRole('heading', { name: 'Timeline' }).waitFor()],
      ['run-lanes', `#/runs/${dag}`, () => page.getByRole('region', { name: 'Lanes' }).waitFor()],
      ['status-history', `#/history?entity_id=${finished}`, () => page.locator('tbody tr').first().waitFor()],
      ['costs', '#/costs', () => page.getByRole('region', { name: 'By model' }).locator('canvas').waitFor()],
      [
        'divergence',
        '#/divergence',
        () => page.getByRole('region', { name: 'Drift over time' }).locator('canvas').waitFor(),
      ],
      ['export', '#/export', () => page.getByLabel('Run id').waitFor()],
    ];
    for (const [name, hash, ready] of views) {
      await page.goto(`${base}/console/${hash}`);
      await ready();
      // Nothing wider than the screen but the tables, lanes and values, which scroll inside their frame.
      const wide = await inBrowser(
        `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > ${phone.width} && !e.closest('.table-wrap, .lanes, pre')).map((e) => e.tagName + '.' + e.className).slice(0, 5)`,
      );
      expect(wide, name).toEqual([]);
      expect(await inBrowser('document.documentElement.scrollWidth')).toBeLessThanOrEqual(phone.width);
      await shoot(`phone-${name}`);
    }
    await page.setViewportSize(desktop);
  });

  it('offers a viewer neither the approve buttons nor exports', async () => {
    const viewer = await app.keyFor('acme', 'viewer');
    const pending = await submit({
      agentId: 'notifier',
      plan: {
        steps: [
          { skill: 'http_call', input: { url: targetUrl, method: 'DELETE', idempotencyKey: 'hook-2' } },
        ],
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    await page.goto(`${base}/console/#/runs`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(viewer);
    await page.goto(`${base}/console/#/runs/${pending}`);
    const panel = page.getByRole('region', { name: 'Waiting for approval' });
    await panel.getByText('A viewer key may not decide approvals').waitFor();
    expect(await panel.getByRole('button').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Download signed export' }).count()).toBe(0);
    await page.goto(`${base}/console/#/export`);
    await page.getByText('A viewer key may not export.').waitFor();
  });

  it("shows another tenant's key nothing of this tenant's runs", async () => {
    await page.goto(`${base}/console/#/runs`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await inBrowser("sessionStorage.getItem('aos.apiKey')")).toBeNull();
    await signIn(otherTenant);
    await page.getByText('globex · admin').waitFor();
    await page.getByText('No runs yet.').waitFor();
    expect(await page.locator('tr[data-run]').count()).toBe(0);
    await page.goto(`${base}/console/#/runs/${finished}`);
    await page.getByText('No such run for this tenant.').waitFor();
    await page.goto(`${base}/console/#/history`);
    await page.getByText('No status changes match.').waitFor();
    await page.goto(`${base}/console/#/costs`);
    // Each chart loads on its own: wait for all three.
    for (const group of ['day', 'skill', 'model']) {
      await page
        .getByRole('region', { name: `By ${group}` })
        .getByText('No charges in this range.')
        .waitFor();
    }
    expect(await page.getByText('No charges in this range.').count()).toBe(3);
    await shoot('desktop-other-tenant-costs');
  });

  it('moves between pages with the keyboard alone', async () => {
    await page.goto(`${base}/console/#/runs`);
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    const focused = () => inBrowser('document.activeElement?.textContent?.trim()');
    // Focus starts on the page's content; Tab wraps round to the skip link, first in the page.
    for (let i = 0; i < 20 && (await focused()) !== 'Skip to content'; i++) await page.keyboard.press('Tab');
    const order: unknown[] = [await focused()];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused());
    }
    expect(order).toEqual(['Skip to content', 'AOS', 'Runs', 'Status history', 'Costs']);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Costs', level: 1 }).waitFor();
    expect(await inBrowser('document.activeElement?.id')).toBe('main');
    // The skip link jumps to the content without leaving the page.
    for (let i = 0; i < 20 && (await focused()) !== 'Skip to content'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await inBrowser('document.activeElement?.id')).toBe('main');
    expect(await inBrowser('location.hash')).toBe('#/costs');
  });
}, 150_000);
