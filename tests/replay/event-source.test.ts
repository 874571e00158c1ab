// readExportFile: the events of an export file pushed in file order while a worker thread
// verifies the same file — a healthy export verifies (signature included), an edited one is
// folded but reported with its line, a broken line stops the read, lines after the manifest
// are not folded.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { signingKeyFrom } from '../../infra/signing/signing-key.ts';
import { ExportReadError, readExportFile } from '../../replay/event-source.ts';
import { exportEvents } from '../../replay/export.ts';
import { sampleEvents } from '../../replay/export-sample.ts';

const key = signingKeyFrom(generateKeyPairSync('ed25519').privateKey, 'test');

describe('readExportFile', () => {
  let dir: string;
  let lines: string[];

  async function read(name: string, content: string[]) {
    const path = join(dir, name);
    await writeFile(path, `${content.join('\n')}\n`);
    const events: RecordedEvent[] = [];
    const result = await readExportFile(path, (event) => events.push(event), { publicKey: key.publicKey });
    return { ...result, events, path };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aos-event-source-'));
    let text = '';
    for await (const chunk of exportEvents(sampleEvents(3, 4), { tenantId: 'acme' }, { signer: key })) {
      text += chunk;
    }
    lines = text.split('\n').slice(0, -1);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('pushes every event in file order and the worker verifies the file, signature included', async () => {
    const { events, verification, manifest } = await read('healthy.jsonl', lines);
    expect(events.map((e) => e.globalPosition)).toEqual(
      lines.slice(0, -1).map((line) => JSON.parse(line).globalPosition),
    );
    expect(manifest?.count).toBe(12);
    expect(verification).toMatchObject({ ok: true, events: 12, signature: 'valid', problems: [] });
  });

  it('folds an edited event but reports it at its line', async () => {
    const edited = [...lines];
    const event = JSON.parse(edited[4]!);
    event.data.amountMicros += 1;
    edited[4] = JSON.stringify(event);
    const { events, verification } = await read('edited.jsonl', edited);
    expect(events[4]!.data).toMatchObject({ amountMicros: event.data.amountMicros });
    expect(verification.ok).toBe(false);
    expect(verification.problems.map((p) => ({ kind: p.kind, line: p.line }))).toEqual([
      { kind: 'edited', line: 5 },
    ]);
  });

  it('stops at a line that is not an event, naming the file and line', async () => {
    const broken = [...lines];
    broken[2] = '{"not":"an event"}';
    const path = join(dir, 'broken.jsonl');
    await writeFile(path, `${broken.join('\n')}\n`);
    await expect(readExportFile(path, () => {})).rejects.toThrow(ExportReadError);
    await expect(readExportFile(path, () => {})).rejects.toThrow(`${path}:3: not an event`);
  });

  it('does not fold lines after the manifest; the verification reports them', async () => {
    const { events, verification } = await read('after.jsonl', [...lines, lines[0]!]);
    expect(events).toHaveLength(12);
    expect(verification.problems.map((p) => ({ kind: p.kind, line: p.line }))).toEqual([
      { kind: 'inserted', line: lines.length + 1 },
    ]);
  });
});
