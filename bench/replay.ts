// `aos replay` over a generated export of real run histories (bench/support/recorded-runs.ts),
// re-folded into every read model (replay/replay-fold.ts), beside the plainest loop that does
// the unavoidable part of its work: read the same lines the same way, JSON.parse each, and fold
// into mutable maps (each run's status and event count, charges per tenant and day). What
// replay adds: the projections' row changes (deterministic row ids, sample hashes, the run detail, status
// sequences) applied to in-memory tables. Target: >= 0.7x the anchor's events/s (issue 5, item 8).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { generateSigningKeyPem, parsePrivateKey, signingKeyFrom } from '../infra/signing/signing-key.ts';
import { readExportFile } from '../replay/event-source.ts';
import { exportEvents } from '../replay/export.ts';
import { readModelNames } from '../replay/replay-fold.ts';
import { ReplaySession } from '../replay/replay-session.ts';
import { forEachLine } from '../replay/text-lines.ts';
import type { Suite, SuiteContext } from './suites.ts';
import { paired } from './support/measure.ts';
import { recordedRuns } from './support/recorded-runs.ts';
import { figure } from './support/report.ts';

const SIZES = {
  quick: { events: 200_000, repetitions: 3 },
  full: { events: 1_000_000, repetitions: 5 },
};

/** The anchor: read, parse, and a mutable fold of what a hand-written report would keep. */
async function rawLoop(file: string): Promise<number> {
  let events = 0;
  const runs = new Map<string, { status: string; events: number }>();
  const charged = new Map<string, number>();
  await forEachLine(createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }), (line) => {
    const event = JSON.parse(line);
    if ('manifest' in event) return;
    events++;
    let run = runs.get(event.streamId);
    if (!run) {
      run = { status: 'queued', events: 0 };
      runs.set(event.streamId, run);
    }
    run.events++;
    if (event.type === 'RunCompleted') run.status = event.data.status;
    if (event.type === 'CostCharged') {
      const key = `${event.metadata.tenantId}|${event.data.at.slice(0, 10)}`;
      charged.set(key, (charged.get(key) ?? 0) + event.data.chargedMicros);
    }
  });
  if (runs.size === 0 || charged.size === 0) throw new Error('the anchor folded nothing');
  return events;
}

async function replayFile(file: string): Promise<number> {
  const session = new ReplaySession({ now: () => new Date(0) });
  await readExportFile(file, session.add);
  const results = session.finish();
  if (results.readModels.runs.length === 0) throw new Error('replay folded no runs');
  return results.events;
}

export const suite: Suite = {
  description:
    'aos replay: an export re-folded into every read model in memory vs a raw read + JSON.parse + mutable fold loop',
  async run({ quick, log }: SuiteContext) {
    const size = quick ? SIZES.quick : SIZES.full;
    const dir = await mkdtemp(join(tmpdir(), 'aos-bench-replay-'));
    const file = join(dir, 'export.jsonl');
    try {
      const key = signingKeyFrom(parsePrivateKey(generateSigningKeyPem(), 'bench'), 'bench');
      log(
        `  driving runs through the decider for an export of ${size.events.toLocaleString('en-US')} events…`,
      );
      await pipeline(
        Readable.from(exportEvents(recordedRuns(size.events), { tenantId: 'acme' }, { signer: key })),
        createWriteStream(file),
      );
      const bytes = (await stat(file)).size;
      log(`  ${(bytes / 2 ** 20).toFixed(0)} MiB; measuring (${size.repetitions} repetitions)`);
      const result = await paired(
        [
          { label: 'replay', run: () => replayFile(file) },
          { label: 'raw', run: () => rawLoop(file) },
        ],
        { repetitions: size.repetitions, log },
      );
      log(`  replay: ${Math.round(result.median.replay!).toLocaleString('en-US')} events/s`);
      return [
        figure({
          name: `replay ${size.events.toLocaleString('en-US')} events into ${readModelNames.length} read models`,
          unit: 'events/s',
          value: result.median.replay!,
          anchor: 'read + JSON.parse + mutable fold',
          anchor_value: result.median.raw!,
          ratios: result.ratioTo('raw'),
          target: 0.7,
        }),
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
