// Offline replay end to end on PGlite: an export of real runs re-folded into every read model
// equals what the API serves (`aos replay --compare`); every recorded run certifies, and an
// altered event fails at its position; what-if with the same prices is zero divergence, with
// doubled prices the expected deltas; a what-if policy flips the decisions it should; the CLI's
// exit codes and messages for bad input.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPolicyHash } from '../../domain/policy.ts';
import { defaultPriceTable, withPriceTableHash } from '../../domain/pricing.ts';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { eventHash } from '../../domain/store/hash-chain.ts';
import { readExportFile } from '../../replay/event-source.ts';
import { type ReplayResults, ReplaySession } from '../../replay/replay-session.ts';
import { renderDivergenceHtml } from '../../replay/report-html.ts';
import { aos } from '../support/aos-cli.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';

const llm = (prompt: string, extra: Record<string, unknown> = {}) => ({
  skill: 'llm_invoke',
  input: { model: 'stub', prompt, maxTokens: 16, ...extra },
});
const plans = [
  [llm('first'), { skill: 'json_transform', input: { expression: 'a', data: { a: 1 } } }, llm('again')],
  [
    {
      ...llm('flaky', { stub: { failAttempts: 1, errorCode: 'RATE_LIMITED' } }),
      retry: { initialDelayMs: 5, maxAttempts: 3 },
    },
  ],
  [
    {
      ...llm('broken', { stub: { failAttempts: 9, errorCode: 'HTTP_5XX' } }),
      retry: { initialDelayMs: 5, maxAttempts: 2 },
    },
  ],
];

async function replay(file: string, options: ConstructorParameters<typeof ReplaySession>[0]) {
  const session = new ReplaySession(options);
  await readExportFile(file, session.add);
  return session.finish();
}
const now = () => new Date('2030-01-01T00:00:00.000Z');

describe('aos replay on PGlite', { timeout: 120_000 }, () => {
  let app: TestApp;
  let dir: string;
  let file: string;
  let auditor: string;
  let lines: string[];
  let env: Record<string, string>;

  beforeAll(async () => {
    app = await startTestApp('pglite');
    const operator = await app.keyFor('acme', 'operator');
    auditor = await app.keyFor('acme', 'auditor');
    const runIds: string[] = [];
    for (const steps of plans) {
      const submitted = await app.request('POST', '/v1/runs', {
        key: operator,
        body: { agentId: 'replayer', plan: { steps }, budget: { maxCostMicros: 1_000_000 } },
      });
      expect(submitted.status).toBe(202);
      runIds.push(submitted.body.runId);
    }
    for (const runId of runIds) await waitForRun(app, operator, runId, ['succeeded', 'failed']);
    // The projections catch up asynchronously: wait until every run's row is final.
    for (;;) {
      const listed = await app.request('GET', '/v1/runs', { key: auditor });
      if (listed.body.items.every((r: { status: string }) => ['succeeded', 'failed'].includes(r.status)))
        break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exported = await app.request('GET', '/v1/export', { key: auditor });
    expect(exported.status).toBe(200);
    lines = (exported.body as string).split('\n').filter((line) => line !== '');
    dir = await mkdtemp(join(tmpdir(), 'aos-replay-'));
    file = join(dir, 'tenant.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    const address = await app.server.listen({ host: '127.0.0.1', port: 0 });
    env = { AOS_URL: address, AOS_API_KEY: auditor };
  });
  afterAll(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reproduces the live read models exactly, and certifies every run (aos replay --compare --certify)', async () => {
    const out = join(dir, 'out');
    const result = await aos(['replay', file, '--out', out, '--compare', '--certify', '--json'], env);
    expect(result.stderr).toBe('');
    const summary = JSON.parse(result.stdout);
    expect(summary.comparison.differences).toEqual([]);
    expect(summary.comparison.equal).toBe(true);
    expect(summary.certification).toMatchObject({ runs: 3, certified: 3, failed: 0 });
    expect(summary.verification).toMatchObject({ verified: true, unverified: false, problemCount: 0 });
    expect(result.code).toBe(0);
    expect(summary.rows.runs).toBe(3);
    expect(summary.comparison.rows.status_history).toBeGreaterThan(10);
    const runs = JSON.parse(await readFile(join(out, 'runs.json'), 'utf8'));
    expect(runs.map((r: { status: string }) => r.status).sort()).toEqual([
      'failed',
      'succeeded',
      'succeeded',
    ]);
    for (const name of ['status_history', 'divergence', 'costs', 'policy_decisions', 'failures']) {
      expect(JSON.parse(await readFile(join(out, `${name}.json`), 'utf8')).length).toBeGreaterThan(0);
    }
  });

  it('lists the rows that differ from the live read models', async () => {
    const altered = join(dir, 'altered.jsonl');
    const edited = lines.map((line) => {
      const event = JSON.parse(line);
      if (event.type !== 'CostCharged') return line;
      return JSON.stringify({
        ...event,
        data: { ...event.data, chargedMicros: event.data.chargedMicros + 7 },
      });
    });
    await writeFile(altered, `${edited.join('\n')}\n`);
    const result = await aos(
      ['replay', altered, '--out', join(dir, 'out-altered'), '--compare', '--unverified', '--json'],
      env,
    );
    expect(result.code).toBe(1);
    const { comparison } = JSON.parse(result.stdout);
    const models = new Set(comparison.differences.map((d: { readModel: string }) => d.readModel));
    // Divergence samples are per run, from RunCompleted's total (not edited here): no difference there.
    expect([...models].sort()).toEqual(['costs', 'runs']);
    expect(
      comparison.differences.find((d: { readModel: string }) => d.readModel === 'costs').diff[0],
    ).toMatch(/^chargedMicros: \d+ ≠ \d+$/);
  });

  it('fails certification at the altered event, with a structured diff', async () => {
    const events = lines.slice(0, -1).map((line) => JSON.parse(line) as RecordedEvent);
    const charge = events.find((e) => e.type === 'CostCharged')!;
    // A consistent forgery: the charge changed and its hash recomputed.
    const data = {
      ...(charge.data as object),
      chargedMicros: (charge.data as { chargedMicros: number }).chargedMicros + 1,
    };
    const forged = { ...charge, data, hash: eventHash({ ...charge, data }) };
    const forgedFile = join(dir, 'forged.jsonl');
    await writeFile(forgedFile, events.map((e) => JSON.stringify(e === charge ? forged : e)).join('\n'));
    const results = await replay(forgedFile, { certify: true, now });
    expect(results.certification).toMatchObject({ runs: 3, certified: 2, failed: 1 });
    const failed = results.certification!.results.find((r) => !r.certified)!;
    expect(failed).toMatchObject({ streamId: charge.streamId, certified: false });
    if (failed.certified) throw new Error('unreachable');
    expect(failed.divergence.streamPosition).toBe(charge.streamPosition);
    expect(failed.divergence.globalPosition).toBe(charge.globalPosition);
    expect(failed.divergence.diff).toEqual([
      `data.chargedMicros: ${data.chargedMicros} ≠ ${data.chargedMicros - 1}`,
    ]);
    expect(failed.divergence.recorded!.hash).toBe(forged.hash);
    expect(failed.divergence.reproduced!.hash).toBe(charge.hash);

    // An observation edited without re-hashing: reproduced as recorded, but not hash for hash.
    const output = events.find((e) => e.type === 'SkillCallSucceeded' && e.streamId !== charge.streamId)!;
    const latencyMs = (output.data as { latencyMs: number }).latencyMs + 1000;
    const edited = { ...output, data: { ...(output.data as object), latencyMs } };
    const editedFile = join(dir, 'edited.jsonl');
    await writeFile(editedFile, events.map((e) => JSON.stringify(e === output ? edited : e)).join('\n'));
    const second = await replay(editedFile, { certify: true, now });
    const broken = second.certification!.results.find((r) => !r.certified)!;
    if (broken.certified) throw new Error('unreachable');
    expect(broken.streamId).toBe(output.streamId);
    expect(broken.divergence.streamPosition).toBe(output.streamPosition);
    expect(broken.divergence.reason).toMatch(/does not match its recorded hash/);

    const cli = await aos([
      'replay',
      forgedFile,
      '--out',
      join(dir, 'out-forged'),
      '--certify',
      '--unverified',
    ]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain('UNVERIFIED');
    expect(cli.stdout).toContain(`diverges at position ${charge.streamPosition}`);
    expect(cli.stdout).toContain('data.chargedMicros');
  });

  it('refuses an export edited without re-hashing; --unverified replays it and says so on every report', async () => {
    // The probe of issue 17: three charges edited, no hash touched. (The stub's answers, and
    // so its charges, vary in length: the edit adds to whatever was charged.)
    const charges = lines
      .map((line, i) => ({ line, i }))
      .filter(({ line }) => /"type":"CostCharged"/.test(line))
      .slice(0, 3)
      .map(({ i }) => i);
    const edited = lines.map((line, i) =>
      charges.includes(i)
        ? line.replace(/"chargedMicros":(\d+)/, (_, micros) => `"chargedMicros":${Number(micros) + 1000}`)
        : line,
    );
    expect(charges.length).toBe(3);
    const editedFile = join(dir, 'charges-edited.jsonl');
    await writeFile(editedFile, `${edited.join('\n')}\n`);
    const prices = join(dir, 'same-prices.json');
    await writeFile(prices, JSON.stringify(defaultPriceTable));

    const refusedOut = join(dir, 'out-refused');
    const refused = await aos([
      'replay',
      editedFile,
      '--out',
      refusedOut,
      '--certify',
      '--what-if-prices',
      prices,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/does not verify \(\d+ problems\): refused, nothing written/);
    expect(refused.stderr).toMatch(/line \d+: edited: the hash does not recompute/);
    await expect(readFile(join(refusedOut, 'certification.json'), 'utf8')).rejects.toThrow(/ENOENT/);

    const out = join(dir, 'out-unverified');
    const args = [
      'replay',
      editedFile,
      '--out',
      out,
      '--certify',
      '--what-if-prices',
      prices,
      '--unverified',
    ];
    const json = await aos([...args, '--json']);
    expect(json.code).toBe(1);
    const summary = JSON.parse(json.stdout);
    expect(summary.ok).toBe(false);
    expect(summary.verification).toMatchObject({ verified: false, unverified: true });
    expect(summary.verification.problems.filter((p: { kind: string }) => p.kind === 'edited').length).toBe(3);
    for (const name of ['certification.json', 'what-if.json', 'verification.json']) {
      const report = JSON.parse(await readFile(join(out, name), 'utf8'));
      expect(report.verification ?? report).toMatchObject({ verified: false, unverified: true });
    }
    expect(await readFile(join(out, 'what-if.html'), 'utf8')).toContain('<strong>UNVERIFIED</strong>');
    const console = await aos(args);
    expect(console.code).toBe(1);
    expect(console.stdout).toMatch(/^ {2}UNVERIFIED {2}the export does not verify .*--unverified/m);
  });

  it('what-if with the same price table is zero divergence; with doubled prices, the expected deltas', async () => {
    const same = await replay(file, { whatIfPrices: withPriceTableHash(defaultPriceTable), now });
    const charges = lines.map((line) => JSON.parse(line)).filter((e) => e.type === 'CostCharged');
    expect(charges.length).toBeGreaterThanOrEqual(3);
    expect(same.whatIf!.prices).toMatchObject({ charges: charges.length, deltaMicros: 0 });
    expect(same.whatIf!.report).toMatchObject({
      sample_count: charges.length,
      matching_rate: 1,
      delta_p90: 0,
    });
    expect(same.whatIf!.deltaHistogram).toEqual([{ from: 0, to: 0, count: charges.length }]);

    const doubled = {
      version: 'doubled',
      models: Object.fromEntries(
        Object.entries(defaultPriceTable.models).map(([model, p]) => [
          model,
          {
            inputMicrosPerMillion: p.inputMicrosPerMillion * 2,
            outputMicrosPerMillion: p.outputMicrosPerMillion * 2,
            cachedInputMicrosPerMillion: p.cachedInputMicrosPerMillion * 2,
          },
        ]),
      ),
    };
    const doubledFile = join(dir, 'doubled.json');
    await writeFile(doubledFile, JSON.stringify(doubled));
    // Worked out from the token counts alone: twice the exact price, rounded up once.
    const stub = defaultPriceTable.models.stub!;
    const expected = charges.map((e) => {
      const u = e.data.usage;
      const exact =
        u.inputTokens * stub.inputMicrosPerMillion +
        u.outputTokens * stub.outputMicrosPerMillion +
        u.cachedInputTokens * stub.cachedInputMicrosPerMillion;
      return Math.ceil((2 * exact) / 1_000_000) - e.data.chargedMicros;
    });
    // Rounded up once, twice a tiny exact cost can round to the same micro-dollar: never less.
    expect(expected.every((d) => d >= 0)).toBe(true);
    expect(expected.some((d) => d > 0)).toBe(true);
    const out = join(dir, 'out-doubled');
    const cli = await aos(['replay', file, '--out', out, '--what-if-prices', doubledFile, '--json']);
    expect(cli.code).toBe(0);
    const view = JSON.parse(await readFile(join(out, 'what-if.json'), 'utf8'));
    expect(view.prices.deltaMicros).toBe(expected.reduce((a, b) => a + b, 0));
    expect(view.prices.whatIfMicros - view.prices.recordedMicros).toBe(view.prices.deltaMicros);
    expect(view.report.detailed_samples.map((s: { cost_delta: number }) => s.cost_delta).sort()).toEqual(
      [...expected].sort(),
    );
    expect(view.deltaHistogram.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(
      charges.length,
    );
    const html = await readFile(join(out, 'what-if.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('what-if policy: counts the decisions that flip, per rule', async () => {
    const policy = withPolicyHash({ version: 'no-transforms', rules: { denySkills: ['json_transform'] } });
    const results: ReplayResults = await replay(file, { whatIfPolicy: policy, now });
    const decisions = lines.map((line) => JSON.parse(line)).filter((e) => e.type === 'PolicyDecided');
    const transforms = decisions.filter((e) => e.data.input.skill === 'json_transform');
    expect(transforms.length).toBe(1);
    const report = results.whatIf!.policy!;
    expect(report).toMatchObject({
      decisions: decisions.length,
      flips: 1,
      byTransition: { 'allow→deny': 1 },
    });
    expect(report.byRule).toEqual([
      { recordedRule: 'default.allow', whatIfRule: 'skills.deny', from: 'allow', to: 'deny', count: 1 },
    ]);
    expect(renderDivergenceHtml(results.whatIf!)).toContain('Decision flips');
  });

  // Seven CLI processes, each a few seconds to start on a loaded machine.
  it('refuses bad input with exit status 2 and a message naming what is wrong', async () => {
    const missing = await aos(['replay', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.jsonl/);

    const none = await aos(['replay']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give an export FILE, or --db/);

    const notJson = join(dir, 'prices.json');
    await writeFile(notJson, '{"version": "x",');
    const broken = await aos(['replay', file, '--out', join(dir, 'o1'), '--what-if-prices', notJson]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/the price table .*prices\.json is not JSON/);

    const noFallback = join(dir, 'no-fallback.json');
    await writeFile(
      noFallback,
      JSON.stringify({ version: 'x', models: { stub: defaultPriceTable.models.stub } }),
    );
    const invalid = await aos(['replay', file, '--out', join(dir, 'o2'), '--what-if-prices', noFallback]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/no-fallback\.json is not valid: models: .*fallback model "unknown"/);

    const badPolicy = join(dir, 'policy.json');
    await writeFile(badPolicy, JSON.stringify({ version: 'p', rules: { denySkills: 'json_transform' } }));
    const policy = await aos(['replay', file, '--out', join(dir, 'o3'), '--what-if-policy', badPolicy]);
    expect(policy.code).toBe(2);
    expect(policy.stderr).toMatch(/the policy .*policy\.json is not valid: rules\.denySkills: /);

    const garbage = join(dir, 'garbage.jsonl');
    await writeFile(garbage, `${lines[0]}\nnot json\n`);
    const unreadable = await aos(['replay', garbage, '--out', join(dir, 'o4')]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/garbage\.jsonl:2: not JSON/);

    const db = await aos(['replay', '--db', '--out', join(dir, 'o5')], { DATABASE_URL: '' });
    expect(db.code).toBe(2);
    expect(db.stderr).toMatch(/--db reads the PostgreSQL store at DATABASE_URL/);
  }, 120_000);

  it('aos divergence: the live report as a table, JSON and HTML', async () => {
    // Over HTTP: the server is listening now (inject would bypass it).
    const response = await fetch(`${env.AOS_URL}/v1/divergence?source=actual&days=2`, {
      headers: { authorization: `Bearer ${auditor}` },
    });
    const live = { body: (await response.json()) as { sample_count: number; delta_p90: number } };
    expect(live.body.sample_count).toBeGreaterThan(0);
    const json = await aos(['divergence', '--json', '--days', '2'], env);
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout);
    expect(view.report.sample_count).toBe(live.body.sample_count);
    expect(view.report.delta_p90).toBe(live.body.delta_p90);
    expect(view.byDay.reduce((n: number, d: { sample_count: number }) => n + d.sample_count, 0)).toBe(
      live.body.sample_count,
    );
    const table = await aos(['divergence'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^all\s+\d+\s+\$/m);
    const page = join(dir, 'divergence.html');
    const html = await aos(['divergence', '--html', page], env);
    expect(html.code).toBe(0);
    expect(await readFile(page, 'utf8')).toContain('Cost-delta histogram');
    const bad = await aos(['divergence', '--days', '0'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--days must be a whole number from 1 to 90/);
  }, 120_000);
});
