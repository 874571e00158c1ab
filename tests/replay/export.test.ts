// Audit export end to end on PGlite: an export of real runs verifies with the public key alone;
// each tampering is caught at its line; CloudEvents shape; tenancy and roles; a time range that
// starts mid-stream; the exporter streams; the CLI's exit codes.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { eventHash } from '../../domain/store/hash-chain.ts';
import {
  generateSigningKeyPem,
  parsePrivateKey,
  parsePublicKey,
  signingKeyFrom,
} from '../../infra/signing/signing-key.ts';
import { type ExportStore, openExport } from '../../replay/export.ts';
import { sampleEvents } from '../../replay/export-sample.ts';
import { verifyExport } from '../../replay/verify.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';

const run = promisify(execFile);

const plan = (prompt: string) => ({
  agentId: 'auditee',
  plan: {
    steps: [
      { skill: 'llm_invoke', input: { model: 'stub', prompt, maxTokens: 16 } },
      { skill: 'json_transform', input: { expression: 'a', data: { a: 1 } } },
      { skill: 'llm_invoke', input: { model: 'stub', prompt: `${prompt} again`, maxTokens: 8 } },
    ],
  },
  budget: { maxCostMicros: 1_000_000 },
});

const linesOf = (text: string) => text.split('\n').filter((line) => line !== '');

describe('audit export on PGlite', () => {
  let app: TestApp;
  let auditor: string;
  let runIds: string[];
  let publicKeyPem: string;
  let runExport: string[];
  const verify = (lines: string[], pem = publicKeyPem) =>
    verifyExport(lines, { publicKey: parsePublicKey(pem) });
  const kinds = (report: Awaited<ReturnType<typeof verify>>) =>
    report.problems.map((p) => ({ kind: p.kind, line: p.line }));
  const lineProblems = (report: Awaited<ReturnType<typeof verify>>, line: number) =>
    report.problems
      .filter((p) => p.line !== null && p.line < line)
      .map((p) => ({ kind: p.kind, line: p.line }));

  beforeAll(async () => {
    app = await startTestApp('pglite');
    const operator = await app.keyFor('acme', 'operator');
    auditor = await app.keyFor('acme', 'auditor');
    runIds = [];
    for (const prompt of ['first', 'second']) {
      const submitted = await app.request('POST', '/v1/runs', { key: operator, body: plan(prompt) });
      runIds.push(submitted.body.runId);
    }
    for (const runId of runIds) await waitForRun(app, operator, runId, ['succeeded']);
    const key = await app.request('GET', '/v1/export/public-key');
    expect(key.status).toBe(200);
    publicKeyPem = key.body.publicKeyPem;
    const exported = await app.request('GET', `/v1/export?run=${runIds[0]}`, { key: auditor });
    expect(exported.status).toBe(200);
    runExport = linesOf(exported.body as string);
  });
  afterAll(() => app.stop());

  it('exports a run as JSONL with a signed manifest last, and it verifies with the public key alone', async () => {
    const exported = await app.request('GET', `/v1/export?run=${runIds[0]}`, { key: auditor });
    expect(exported.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const events = runExport.slice(0, -1).map((line) => JSON.parse(line) as RecordedEvent);
    expect(events.length).toBeGreaterThan(10);
    expect(events.every((e) => e.streamId === `run-${runIds[0]}` && e.hash === eventHash(e))).toBe(true);
    const { manifest } = JSON.parse(runExport.at(-1)!);
    const key = await app.request('GET', '/v1/export/public-key');
    expect(manifest).toMatchObject({
      formatVersion: 1,
      filter: { tenantId: 'acme', runId: runIds[0] },
      count: events.length,
      keyId: key.body.keyId,
      algorithm: 'Ed25519',
      streams: {
        [`run-${runIds[0]}`]: { firstPosition: 0, count: events.length, headHash: events.at(-1)!.hash },
      },
    });
    const report = await verify(runExport);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, signature: 'valid', events: events.length });
  });

  it('exports the whole tenant (runs and budget ledger) and it verifies', async () => {
    const exported = await app.request('GET', '/v1/export', { key: auditor });
    const lines = linesOf(exported.body as string);
    const report = await verify(lines);
    expect(report.problems).toEqual([]);
    expect(report.streams).toBeGreaterThanOrEqual(3);
    const streams = Object.keys(JSON.parse(lines.at(-1)!).manifest.streams);
    expect(streams).toEqual(expect.arrayContaining(runIds.map((id) => `run-${id}`)));
    expect(streams.some((id) => id.startsWith('budget-acme-'))).toBe(true);
  });

  it('catches one byte of data edited, at its line', async () => {
    const lines = [...runExport];
    const at = lines.findIndex((line) => line.includes('"prompt":"first"'));
    expect(at).toBeGreaterThanOrEqual(0);
    lines[at] = lines[at]!.replace('"prompt":"first"', '"prompt":"firsT"');
    expect(kinds(await verify(lines))).toEqual([{ kind: 'edited', line: at + 1 }]);
  });

  it('catches a line deleted, at the line where the gap shows', async () => {
    const lines = [...runExport];
    lines.splice(4, 1);
    const report = await verify(lines);
    expect(lineProblems(report, lines.length)).toEqual([{ kind: 'deleted', line: 5 }]);
  });

  it('catches a forged line inserted with a recomputed hash', async () => {
    const lines = [...runExport];
    const real = JSON.parse(lines[5]!) as RecordedEvent;
    const forged = { ...real, eventId: '22222222-2222-4222-8222-222222222222', data: { forged: true } };
    forged.hash = eventHash(forged);
    lines.splice(6, 0, JSON.stringify(forged));
    const report = await verify(lines);
    expect(lineProblems(report, lines.length)).toEqual([{ kind: 'inserted', line: 7 }]);
  });

  it('catches two lines swapped', async () => {
    const lines = [...runExport];
    [lines[6], lines[7]] = [lines[7]!, lines[6]!];
    const report = await verify(lines);
    expect(lineProblems(report, lines.length)).toEqual([{ kind: 'reordered', line: 7 }]);
  });

  it('catches the tail cut (manifest dropped, or mid-line)', async () => {
    const lines = runExport.slice(0, -1);
    expect(kinds(await verify(lines))).toEqual([{ kind: 'truncated', line: lines.length + 1 }]);
    const text = `${runExport.join('\n')}\n`;
    const cut = linesOf(text.slice(0, Math.floor(text.length / 2)));
    expect(kinds(await verify(cut))).toEqual([{ kind: 'truncated', line: cut.length }]);
  });

  it('catches a wrong key', async () => {
    const other = signingKeyFrom(parsePrivateKey(generateSigningKeyPem(), 'test'), 'test');
    const report = await verify(runExport, other.publicKeyPem);
    expect(kinds(report)).toEqual([{ kind: 'bad_signature', line: runExport.length }]);
    expect(report.signature).toBe('invalid');
  });

  it('writes CloudEvents 1.0 lines that verify too', async () => {
    const exported = await app.request('GET', `/v1/export?run=${runIds[1]}&format=cloudevents`, {
      key: auditor,
    });
    expect(exported.status).toBe(200);
    const lines = linesOf(exported.body as string);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({
      specversion: '1.0',
      source: '/aos/tenants/acme',
      type: 'RunSubmitted',
      subject: `run-${runIds[1]}`,
      datacontenttype: 'application/json',
      aosstreamposition: 0,
      aosprevhash: '0'.repeat(64),
      aostenantid: 'acme',
    });
    expect(typeof first.id).toBe('string');
    expect(first.time).toMatch(/Z$/);
    expect(first.aosglobalposition).toMatch(/^\d+$/);
    expect(first.aoshash).toMatch(/^[0-9a-f]{64}$/);
    for (const name of Object.keys(first)) expect(name).toMatch(/^[a-z0-9]+$/);
    expect(JSON.parse(lines.at(-1)!).manifest.count).toBe(lines.length - 1);
    const report = await verify(lines);
    expect(report.problems).toEqual([]);
    expect(report.format).toBe('cloudevents');
  });

  it('answers 404 for another tenant’s run or stream, 403 to viewers and operators, 400 on bad input', async () => {
    const stranger = await app.keyFor('globex', 'auditor');
    expect((await app.request('GET', `/v1/export?run=${runIds[0]}`, { key: stranger })).status).toBe(404);
    expect((await app.request('GET', `/v1/export?stream=run-${runIds[0]}`, { key: stranger })).status).toBe(
      404,
    );
    expect((await app.request('GET', '/v1/export?stream=pricing', { key: auditor })).status).toBe(404);
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await app.request('GET', `/v1/export?run=${missing}`, { key: auditor })).status).toBe(404);
    for (const role of ['viewer', 'operator'] as const) {
      const key = await app.keyFor('acme', role);
      expect((await app.request('GET', `/v1/export?run=${runIds[0]}`, { key })).status).toBe(403);
    }
    const admin = await app.keyFor('acme', 'admin');
    expect((await app.request('GET', `/v1/export?run=${runIds[0]}`, { key: admin })).status).toBe(200);
    expect((await app.request('GET', '/v1/export')).status).toBe(401);
    expect((await app.request('GET', '/v1/export?format=xml', { key: auditor })).status).toBe(400);
    expect((await app.request('GET', `/v1/export?run=${runIds[0]}&stream=x`, { key: auditor })).status).toBe(
      400,
    );
    // Another tenant's export holds none of acme's events.
    // (one line, the manifest, which the test client parses as JSON)
    const theirs = await app.request('GET', '/v1/export', { key: stranger });
    expect(theirs.body.manifest).toMatchObject({ count: 0, streams: {} });
  });

  it('exports a time range that starts mid-stream, and it verifies', async () => {
    const events = runExport.slice(0, -1).map((line) => JSON.parse(line) as RecordedEvent);
    const start = events.findIndex((e, i) => i > 1 && e.recordedAt > events[i - 1]!.recordedAt);
    expect(start).toBeGreaterThan(0);
    const from = events[start]!.recordedAt;
    const exported = await app.request('GET', `/v1/export?run=${runIds[0]}&from=${from}`, { key: auditor });
    const lines = linesOf(exported.body as string);
    const { manifest } = JSON.parse(lines.at(-1)!);
    const stream = manifest.streams[`run-${runIds[0]}`];
    expect(stream).toMatchObject({ firstPosition: start, firstPrevHash: events[start - 1]!.hash });
    expect(manifest.filter.from).toBe(from);
    const report = await verify(lines);
    expect(report.problems).toEqual([]);
    // The whole tenant from the same instant: several streams start mid-way; all verify.
    const tenant = await app.request('GET', `/v1/export?from=${from}`, { key: auditor });
    expect((await verify(linesOf(tenant.body as string))).problems).toEqual([]);
  });

  it('`aos verify FILE --public-key PEM` exits 0 on the export, 1 on a tampered copy, 2 on usage errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aos-verify-'));
    try {
      const file = join(dir, 'export.jsonl');
      const tampered = join(dir, 'tampered.jsonl');
      const pem = join(dir, 'public.pem');
      await writeFile(file, `${runExport.join('\n')}\n`);
      const lines = [...runExport];
      lines.splice(3, 1);
      await writeFile(tampered, `${lines.join('\n')}\n`);
      await writeFile(pem, publicKeyPem);
      const cli = (...args: string[]) =>
        run('node', ['bin/aos.js', 'verify', ...args]).then(
          ({ stdout }) => ({ code: 0, stdout }),
          (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
        );
      const ok = await cli(file, '--public-key', pem);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('OK');
      expect(ok.stdout).toMatch(/events\/s/);
      const bad = await cli(tampered, '--public-key', pem, '--json');
      expect(bad.code).toBe(1);
      expect(JSON.parse(bad.stdout).problems[0]).toMatchObject({ kind: 'deleted', line: 4 });
      expect((await cli(join(dir, 'nothing.jsonl'))).code).toBe(2);
      expect((await cli(file, '--bogus')).code).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
  it('`aos export` and `aos keys export-public` talk to the server and write files that verify', async () => {
    const address = await app.server.listen({ host: '127.0.0.1', port: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'aos-export-'));
    try {
      const env = { ...process.env, AOS_URL: address, AOS_API_KEY: auditor };
      const out = join(dir, 'run.jsonl');
      const pem = join(dir, 'public.pem');
      await run('node', ['bin/aos.js', 'export', '--run', runIds[0]!, '--out', out], { env });
      await run('node', ['bin/aos.js', 'keys', 'export-public', '--out', pem], { env });
      const { stdout } = await run('node', ['bin/aos.js', 'verify', out, '--public-key', pem, '--json']);
      expect(JSON.parse(stdout)).toMatchObject({
        ok: true,
        signature: 'valid',
        events: runExport.length - 1,
      });
      const viewer = await app.keyFor('acme', 'viewer');
      const refused = await run('node', ['bin/aos.js', 'export', '--out', join(dir, 'no.jsonl')], {
        env: { ...env, AOS_API_KEY: viewer },
      }).catch((error: { code: number; stderr: string }) => error);
      expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('403') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the exporter streams', () => {
  it('holds one page at a time, whatever the number of events', async () => {
    const total = 5000;
    const pageSize = 100;
    const all = [...sampleEvents(10, total / 10)];
    let delivered = 0;
    const store: ExportStore = {
      async readAll({ after, limit = pageSize } = {}) {
        const from = after === undefined ? 0 : Number(after);
        const events = all.slice(from, from + limit);
        delivered += events.length;
        return { events, checkpoint: String(from + events.length) };
      },
      readStream: async () => [],
      streamInfo: async () => null,
    };
    const signer = signingKeyFrom(parsePrivateKey(generateSigningKeyPem(), 'test'), 'test');
    const text = await openExport(store, { tenantId: 'acme' }, { signer, pageSize });
    const lines: string[] = [];
    let chunks = 0;
    for await (const chunk of text) {
      chunks++;
      // Never more than the page being written ahead of what was consumed.
      expect(delivered).toBeLessThanOrEqual(Math.min(total, chunks * pageSize));
      lines.push(...linesOf(chunk));
    }
    expect(chunks).toBe(total / pageSize + 1);
    const report = await verifyExport(lines, { publicKey: signer.publicKey });
    expect(report).toMatchObject({ ok: true, events: total, streams: 10 });
  });
});
