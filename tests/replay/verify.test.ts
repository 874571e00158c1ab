// The verifier on synthetic exports: the Merkle root against RFC 6962's recursive definition,
// and every kind of tampering reported with its line.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { eventHash } from '../../domain/store/hash-chain.ts';
import { signingKeyFrom } from '../../infra/signing/signing-key.ts';
import { exportEvents } from '../../replay/export.ts';
import { sampleEvents } from '../../replay/export-sample.ts';
import { EMPTY_MERKLE_ROOT, merkleRoot } from '../../replay/merkle.ts';
import { verifyExport } from '../../replay/verify.ts';
import { verifyFile } from '../../replay/verify-file.ts';

const key = signingKeyFrom(generateKeyPairSync('ed25519').privateKey, 'test');
const otherKey = signingKeyFrom(generateKeyPairSync('ed25519').privateKey, 'test');

/** RFC 6962 §2.1, written recursively, as the reference. */
function referenceRoot(hashes: string[]): string {
  const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  const tree = (leaves: Buffer[]): Buffer => {
    if (leaves.length === 1) return sha(Buffer.from([0]), leaves[0]!);
    let k = 1;
    while (k * 2 < leaves.length) k *= 2;
    return sha(Buffer.from([1]), tree(leaves.slice(0, k)), tree(leaves.slice(k)));
  };
  if (hashes.length === 0) return sha().toString('hex');
  return tree(hashes.map((hash) => Buffer.from(hash, 'hex'))).toString('hex');
}

/** Events of `streams` streams interleaved, `perStream` each, from position `startAt`. */
function chainedEvents(streams: number, perStream: number, startAt = 0): RecordedEvent[] {
  return [...sampleEvents(streams, perStream)].filter((event) => event.streamPosition >= startAt);
}

async function exportLines(events: RecordedEvent[], format: 'jsonl' | 'cloudevents' = 'jsonl') {
  let text = '';
  for await (const chunk of exportEvents(
    events,
    { tenantId: 'acme' },
    { signer: key, format, pageSize: 7 },
  )) {
    text += chunk;
  }
  return text.split('\n').slice(0, -1);
}

const verify = (lines: string[], publicKey = key.publicKey) => verifyExport(lines, { publicKey });
const kinds = (report: Awaited<ReturnType<typeof verify>>) =>
  report.problems.map((p) => ({ kind: p.kind, line: p.line }));

/** Changes one character of the first string in the event's data: a one-byte edit. */
function editOneByte(line: string): string {
  const value = JSON.parse(line);
  const data = value.data as Record<string, unknown>;
  const field = Object.keys(data).find((name) => typeof data[name] === 'string')!;
  const text = data[field] as string;
  data[field] = `${text.slice(0, -1)}${text.endsWith('x') ? 'y' : 'x'}`;
  const edited = JSON.stringify(value);
  expect(edited.length).toBe(line.length);
  return edited;
}

describe('Merkle root', () => {
  it('equals RFC 6962 for every size up to 70 and is sha256("") when empty', () => {
    expect(merkleRoot([])).toBe(EMPTY_MERKLE_ROOT);
    expect(EMPTY_MERKLE_ROOT).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const hashes = Array.from({ length: 70 }, (_, i) => createHash('sha256').update(String(i)).digest('hex'));
    for (let n = 1; n <= hashes.length; n++) {
      expect(merkleRoot(hashes.slice(0, n)), `n=${n}`).toBe(referenceRoot(hashes.slice(0, n)));
    }
  });
});

describe('verify', () => {
  const events = chainedEvents(3, 8);

  it('accepts an untouched export, JSONL and CloudEvents, with the public key', async () => {
    for (const format of ['jsonl', 'cloudevents'] as const) {
      const report = await verify(await exportLines(events, format));
      expect(report.problems).toEqual([]);
      expect(report).toMatchObject({ ok: true, events: 24, streams: 3, signature: 'valid', format });
    }
  });

  it('reports the signature as unchecked without a key, and an empty export verifies', async () => {
    const report = await verifyExport(await exportLines(events));
    expect(report).toMatchObject({ ok: true, signature: 'unchecked' });
    const empty = await verify(await exportLines([]));
    expect(empty).toMatchObject({ ok: true, events: 0, merkleRoot: EMPTY_MERKLE_ROOT });
  });

  it('one byte of data edited → edited at that line, and nothing else', async () => {
    const lines = await exportLines(events);
    lines[9] = editOneByte(lines[9]!);
    expect(kinds(await verify(lines))).toEqual([{ kind: 'edited', line: 10 }]);
  });

  it('hashes lines whose keys are out of canonical order the same (not an edit), and an edit there is still one', async () => {
    // The exporter writes data in canonical key order and the verifier then hashes it without
    // sorting; lines in any other key order (another writer) take the sorting path.
    const lines = await exportLines(events);
    const reversed = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reversed)
        : typeof value === 'object' && value !== null
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([k, v]) => [k, reversed(v)]),
            )
          : value;
    const reorder = (line: string) => {
      const event = JSON.parse(line);
      return JSON.stringify({ ...event, data: reversed(event.data), metadata: reversed(event.metadata) });
    };
    const reordered = lines.map((line, index) => (index < lines.length - 1 ? reorder(line) : line));
    expect(reordered[9]).not.toBe(lines[9]);
    expect((await verify(reordered)).problems).toEqual([]);
    reordered[9] = editOneByte(reordered[9]!);
    lines[9] = editOneByte(lines[9]!);
    expect(kinds(await verify(reordered))).toEqual([{ kind: 'edited', line: 10 }]);
    expect(kinds(await verify(lines))).toEqual([{ kind: 'edited', line: 10 }]);
  });

  it('an event replaced and re-hashed → edited at that line', async () => {
    const lines = await exportLines(events);
    const value = JSON.parse(lines[4]!);
    value.data.amountMicros = 1;
    value.hash = eventHash(value);
    lines[4] = JSON.stringify(value);
    const report = await verify(lines);
    expect(kinds(report)).toContainEqual({ kind: 'edited', line: 5 });
    expect(report.problems.filter((p) => p.line !== null && p.line < 25).map((p) => p.kind)).toEqual([
      'edited',
    ]);
  });

  it('a line deleted → deleted at the line where the gap shows', async () => {
    const lines = await exportLines(events);
    lines.splice(10, 1); // run-1 position 3
    const report = await verify(lines);
    expect(kinds(report)).toContainEqual({ kind: 'deleted', line: 13 }); // run-1 position 4, was line 14
    expect(report.problems.filter((p) => p.line !== null && p.line < 24).map((p) => p.kind)).toEqual([
      'deleted',
    ]);
  });

  it('a forged line with a recomputed hash → inserted at that line, before or after the real one', async () => {
    for (const offset of [0, 1]) {
      const lines = await exportLines(events);
      const real = JSON.parse(lines[7]!); // run-1 position 2
      const forged = {
        ...real,
        eventId: '11111111-1111-4111-8111-111111111111',
        data: { step: 2, forged: true },
      };
      forged.hash = eventHash(forged);
      lines.splice(7 + offset, 0, JSON.stringify(forged));
      const report = await verify(lines);
      expect(kinds(report), `offset ${offset}`).toContainEqual({ kind: 'inserted', line: 8 + offset });
      expect(report.problems.filter((p) => p.line !== null && p.line < 26).map((p) => p.kind)).toEqual([
        'inserted',
      ]);
    }
  });

  it('two lines of a stream swapped → reordered at the first', async () => {
    const lines = await exportLines(events);
    [lines[3], lines[6]] = [lines[6]!, lines[3]!]; // run-0 positions 1 and 2
    const report = await verify(lines);
    expect(kinds(report)).toContainEqual({ kind: 'reordered', line: 4 });
    expect(report.problems.filter((p) => p.line !== null && p.line < 25).map((p) => p.kind)).toEqual([
      'reordered',
    ]);
  });

  it('a stream’s first two events swapped → reordered at the first line', async () => {
    const lines = await exportLines(events);
    [lines[0], lines[3]] = [lines[3]!, lines[0]!];
    const report = await verify(lines);
    expect(
      report.problems
        .filter((p) => p.line !== null && p.line < 25)
        .map((p) => ({ kind: p.kind, line: p.line })),
    ).toEqual([{ kind: 'reordered', line: 1 }]);
  });

  it('two lines of different streams swapped → reordered (only the Merkle root shows it)', async () => {
    const lines = await exportLines(events);
    [lines[3], lines[4]] = [lines[4]!, lines[3]!];
    const report = await verify(lines);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toEqual(['reordered']);
  });

  it('the tail cut → truncated: at the line cut in half, or after the last line without a manifest', async () => {
    const lines = await exportLines(events);
    expect(kinds(await verify(lines.slice(0, -1)))).toEqual([{ kind: 'truncated', line: 25 }]);
    const cut = [...lines.slice(0, 20), lines[20]!.slice(0, 40)];
    expect(kinds(await verify(cut))).toEqual([{ kind: 'truncated', line: 21 }]);
  });

  it('a wrong key or an edited manifest → bad_signature', async () => {
    const lines = await exportLines(events);
    expect(kinds(await verify(lines, otherKey.publicKey))).toEqual([{ kind: 'bad_signature', line: 25 }]);
    const manifest = JSON.parse(lines[24]!);
    manifest.manifest.createdAt = '2000-01-01T00:00:00.000Z';
    const edited = [...lines.slice(0, 24), JSON.stringify(manifest)];
    expect(kinds(await verify(edited))).toEqual([{ kind: 'bad_signature', line: 25 }]);
  });

  it('lines after the manifest, or a stream the manifest does not list → inserted', async () => {
    const lines = await exportLines(events);
    expect(kinds(await verify([...lines, lines[0]!]))).toEqual([{ kind: 'inserted', line: 26 }]);
  });

  it('fields the hash does not cover are checked too: global positions, extra fields, CloudEvents attributes', async () => {
    const lines = await exportLines(events);
    const moved = [...lines];
    moved[5] = moved[5]!.replace(/"globalPosition":"6"/, '"globalPosition":"60"');
    expect(kinds(await verify(moved))).toEqual([{ kind: 'edited', line: null }]);
    const extra = [...lines];
    extra[5] = extra[5]!.replace(/^\{/, '{"approved":true,');
    expect(kinds(await verify(extra))).toEqual([{ kind: 'edited', line: 6 }]);
    const cloud = await exportLines(events, 'cloudevents');
    cloud[2] = cloud[2]!.replace('"source":"/aos/tenants/acme"', '"source":"/aos/tenants/globex"');
    expect(kinds(await verify(cloud))).toEqual([{ kind: 'edited', line: 3 }]);
  });

  it('an export that starts mid-stream verifies from the manifest’s firstPrevHash, and its missing head is caught', async () => {
    const lines = await exportLines(chainedEvents(2, 6, 3));
    expect((await verify(lines)).ok).toBe(true);
    const report = await verify(lines.slice(1));
    expect(kinds(report)).toContainEqual({ kind: 'deleted', line: 2 });
  });

  it('keeps going after a break: every problem of a file tampered in several places', async () => {
    const lines = await exportLines(events);
    lines[1] = editOneByte(lines[1]!);
    lines.splice(16, 1);
    const report = await verify(lines);
    expect(kinds(report)).toContainEqual({ kind: 'edited', line: 2 });
    expect(kinds(report)).toContainEqual({ kind: 'deleted', line: 19 });
  });

  it('never throws, and fails every file tampered with any mix of deletions, swaps, duplicates and edits', async () => {
    const original = await exportLines(chainedEvents(3, 6));
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({ op: fc.constant('swap' as const), at: fc.nat(), to: fc.nat() }),
      fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
      fc.record({ op: fc.constant('edit' as const), at: fc.nat(), char: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        const lines = [...original];
        for (const m of mutations) {
          const at = m.at % lines.length;
          if (m.op === 'delete') lines.splice(at, 1);
          else if (m.op === 'duplicate') lines.splice(at, 0, lines[at]!);
          else if (m.op === 'swap') {
            const to = m.to % lines.length;
            if (to === at) lines.splice(at, 1);
            else [lines[at], lines[to]] = [lines[to]!, lines[at]!];
          } else {
            const line = lines[at]!;
            const i = m.char % line.length;
            lines[at] = `${line.slice(0, i)}${line[i] === '7' ? '8' : '7'}${line.slice(i + 1)}`;
          }
          if (lines.length === 0) lines.push('');
        }
        if (lines.join('\n') === original.join('\n')) return; // the mutations undid each other
        const report = await verify(lines);
        expect(report.ok).toBe(false);
        for (const problem of report.problems) expect(problem.message).toBeTypeOf('string');
      }),
      { numRuns: 300 },
    );
  });
});

describe('verifyFile on two threads (lines checked here and on a worker)', () => {
  // More bytes than a few chunks read: blocks of lines are checked on both threads.
  const events = chainedEvents(100, 90);

  async function exportFile(lines: string[]) {
    const dir = await mkdtemp(join(tmpdir(), 'aos-verify-thread-'));
    const file = join(dir, 'export.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    return { file, done: () => rm(dir, { recursive: true, force: true }) };
  }

  it('gives the report the verifier gives on one thread, and catches what only the root shows', async () => {
    const lines = await exportLines(events);
    const { file, done } = await exportFile(lines);
    try {
      const threaded = await verifyFile(file, { publicKey: key.publicKey, workerFromBytes: 0 });
      expect(threaded).toEqual(await verify(lines));
      expect(threaded).toMatchObject({ ok: true, events: 9000 });
      expect(threaded.merkleRoot).toBe(referenceRoot(events.map((e) => e.hash)));
      expect((await stat(file)).size).toBeGreaterThan(3 << 20);
    } finally {
      await done();
    }
    // An edited event and a broken line in later blocks: reported at their lines, as on one thread.
    const tampered = [...lines];
    tampered[4000] = tampered[4000]!.replace('"streamPosition":', '"extra":1,"streamPosition":');
    tampered[7000] = tampered[7000]!.slice(0, 40);
    const edited = await exportFile(tampered);
    try {
      const report = await verifyFile(edited.file, { publicKey: key.publicKey, workerFromBytes: 0 });
      expect(report).toEqual(await verify(tampered));
      expect(report.problems.map((p) => p.line)).toEqual(expect.arrayContaining([4001, 7001]));
    } finally {
      await edited.done();
    }
    // Two events of different streams swapped, past the first block.
    [lines[8500], lines[8501]] = [lines[8501]!, lines[8500]!];
    const swapped = await exportFile(lines);
    try {
      const report = await verifyFile(swapped.file, { publicKey: key.publicKey, workerFromBytes: 0 });
      expect(report.problems.map((p) => p.kind)).toEqual(['reordered']);
    } finally {
      await swapped.done();
    }
  });
});
