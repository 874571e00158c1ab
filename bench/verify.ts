// `aos verify` over a generated export file, beside the plainest loop that does the one
// unavoidable piece of its work: read the same lines the same way, JSON.parse each, and
// sha256 the RFC 8785 canonical JSON of the hashed fields (with the fastest canonical JSON
// we have, domain/canonical-json.ts — the canonicalize package's made the anchor 3x slower). What verify adds on top: field
// checks, the hash comparison, each stream's chain, the Merkle root, the manifest and the
// Ed25519 signature. Target: verify at >= 0.8x the anchor's events/s (issue 5, item 8).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { canonicalJson, sha256Hex } from '../domain/hashing.ts';
import { generateSigningKeyPem, parsePrivateKey, signingKeyFrom } from '../infra/signing/signing-key.ts';
import { exportEvents } from '../replay/export.ts';
import { sampleEvents } from '../replay/export-sample.ts';
import { forEachLine } from '../replay/text-lines.ts';
import { verifyFile } from '../replay/verify-file.ts';
import type { Suite, SuiteContext } from './suites.ts';
import { paired } from './support/measure.ts';
import { figure } from './support/report.ts';

const SIZES = {
  quick: { events: 200_000, repetitions: 3 },
  full: { events: 1_000_000, repetitions: 5 },
};
/** Runs of 50 events each, interleaved: the shape of a tenant export. */
const EVENTS_PER_STREAM = 50;

/** The anchor: read, parse, canonicalize + sha256; no checks at all. */
async function rawLoop(file: string): Promise<number> {
  let events = 0;
  let sink = 0;
  await forEachLine(createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }), (line) => {
    const value = JSON.parse(line);
    if ('manifest' in value) return;
    const { streamId, streamPosition, eventId, type, schemaVersion, data, metadata, recordedAt, prevHash } =
      value;
    const hash = sha256Hex(
      canonicalJson({
        data,
        eventId,
        metadata,
        prevHash,
        recordedAt,
        schemaVersion,
        streamId,
        streamPosition,
        type,
      }),
    );
    sink ^= hash.charCodeAt(0);
    events++;
  });
  if (sink < 0) throw new Error('unreachable');
  return events;
}

export const suite: Suite = {
  description:
    'aos verify: an export file checked (hashes, chains, Merkle root, signature) vs a raw canonicalize + sha256 loop',
  async run({ quick, log }: SuiteContext) {
    const size = quick ? SIZES.quick : SIZES.full;
    const dir = await mkdtemp(join(tmpdir(), 'aos-bench-verify-'));
    const file = join(dir, 'export.jsonl');
    try {
      const key = signingKeyFrom(parsePrivateKey(generateSigningKeyPem(), 'bench'), 'bench');
      log(`  writing an export of ${size.events.toLocaleString('en-US')} events…`);
      const streams = size.events / EVENTS_PER_STREAM;
      await pipeline(
        Readable.from(
          exportEvents(sampleEvents(streams, EVENTS_PER_STREAM), { tenantId: 'acme' }, { signer: key }),
        ),
        createWriteStream(file),
      );
      const bytes = (await stat(file)).size;
      log(`  ${(bytes / 2 ** 20).toFixed(0)} MiB; measuring (${size.repetitions} repetitions)`);
      const result = await paired(
        [
          {
            label: 'verify',
            run: async () => {
              const report = await verifyFile(file, { publicKey: key.publicKey });
              if (!report.ok)
                throw new Error(`the generated export does not verify: ${report.problems[0]?.message}`);
              return report.events;
            },
          },
          { label: 'raw', run: () => rawLoop(file) },
        ],
        { repetitions: size.repetitions, log },
      );
      log(`  verify: ${Math.round(result.median.verify!).toLocaleString('en-US')} events/s`);
      return [
        figure({
          name: `verify ${size.events.toLocaleString('en-US')} events (${streams.toLocaleString('en-US')} streams)`,
          unit: 'events/s',
          value: result.median.verify!,
          anchor: 'read + JSON.parse + canonical JSON + sha256',
          anchor_value: result.median.raw!,
          ratios: result.ratioTo('raw'),
          target: 0.8,
        }),
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
