// `aos replay FILE | --db`: re-folds recorded events into every read model offline
// (replay/), optionally certifying each run and re-evaluating charges and decisions under
// another price table or policy; `--compare` diffs the result against the live read models.
// An export file is verified while it is folded (as `aos verify` does); one that does not
// verify is refused (exit 1, nothing written) unless --unverified, whose every report then
// says UNVERIFIED.
// Exit status: 0 when everything holds, 1 when the export does not verify, a run does not
// certify or a row differs, 2 on a usage error (no such file, a bad what-if file, an
// unreadable export line).
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { canonicalHash } from '../../domain/hashing.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore } from '../../infra/store/sql-event-store.ts';
import type { CertificationReport } from '../../replay/certify-runs.ts';
import { type ComparisonReport, compareReadModels } from '../../replay/compare.ts';
import {
  ExportReadError,
  readExportFile,
  readStoreEvents,
  type SourceProgress,
} from '../../replay/event-source.ts';
import { readModelNames } from '../../replay/replay-fold.ts';
import { type ReplayResults, ReplaySession, writeReplayResults } from '../../replay/replay-session.ts';
import { replayVerification, verificationLines } from '../../replay/replay-verification.ts';
import { dollars } from '../../replay/svg-charts.ts';
import { readPolicy, readPriceTable, WhatIfInputError } from '../../replay/what-if-input.ts';
import { shippedDatasets } from '../shipped-datasets.ts';
import { liveViews, replayedViews } from './live-read-models.ts';
import { serverClient } from './server-client.ts';

/** Files above this many bytes (a store: once this many events are read) show a progress bar on a terminal. */
const PROGRESS_AT = 8 * 1024 * 1024;
const PROGRESS_EVENTS = 20_000;

export class UsageError extends Error {}

interface ReplayCliOptions {
  out: string;
  db?: boolean;
  tenant?: string;
  compare?: boolean;
  certify?: boolean;
  whatIfPrices?: string;
  whatIfPolicy?: string;
  json?: boolean;
  progress?: boolean;
  unverified?: boolean;
}

function progressBar(enabled: boolean, what: string) {
  let bar: SingleBar | null = null;
  return {
    update({ done, total, events }: SourceProgress) {
      if (!enabled || !process.stderr.isTTY) return;
      if (total > 0 ? total < PROGRESS_AT : done < PROGRESS_EVENTS) return;
      if (!bar) {
        bar = new SingleBar(
          {
            format:
              total > 0
                ? `${what} [{bar}] {percentage}% | {events} events | {eta}s left`
                : `${what} {events} events`,
            stream: process.stderr,
          },
          undefined,
        );
        bar.start(total > 0 ? total : 1, 0, { events: 0 });
      }
      bar.update(total > 0 ? done : 0, { events: events.toLocaleString('en-US') });
    },
    stop: () => (bar as SingleBar | null)?.stop(),
  };
}

async function readSource(file: string | undefined, options: ReplayCliOptions, session: ReplaySession) {
  const bar = progressBar(options.progress !== false, 'replaying');
  try {
    if (options.db) {
      const url = process.env.DATABASE_URL;
      if (!url || !/^postgres(ql)?:\/\//.test(url)) {
        throw new UsageError(
          '--db reads the PostgreSQL store at DATABASE_URL (postgres://…); the embedded PGlite store belongs to the server process: export it (aos export) and replay the file',
        );
      }
      const client = createPostgresClient({ connectionString: url });
      try {
        const store = createSqlEventStore(client);
        await readStoreEvents(store, session.add, {
          ...(options.tenant ? { tenantId: options.tenant } : {}),
          onProgress: bar.update,
        });
        return { tenantId: options.tenant };
      } finally {
        await client.close();
      }
    }
    const path = file!;
    try {
      if (!(await stat(path)).isFile()) throw new Error('not a file');
    } catch (error) {
      throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
    }
    const { manifest, verification } = await readExportFile(path, session.add, { onProgress: bar.update });
    return { tenantId: options.tenant ?? manifest?.filter.tenantId, verification };
  } catch (error) {
    if (error instanceof ExportReadError) throw new UsageError(`${error.message} (aos verify says more)`);
    throw error;
  } finally {
    bar.stop();
  }
}

function certificationLines(report: CertificationReport): string[] {
  const out = [`  certify     ${report.certified} of ${report.runs} runs certified`];
  for (const result of report.results) {
    if (result.certified) continue;
    const d = result.divergence;
    out.push(
      `    ${result.runId}: diverges at position ${d.streamPosition}${d.globalPosition ? ` (global ${d.globalPosition})` : ''}: ${d.reason}`,
    );
    if (d.recorded || d.reproduced) {
      out.push(`      recorded   ${d.recorded?.type ?? '(none)'} ${d.recorded?.hash ?? ''}`);
      out.push(`      reproduced ${d.reproduced?.type ?? '(none)'} ${d.reproduced?.hash ?? ''}`);
    }
    for (const line of d.diff) out.push(`      ${line}`);
  }
  return out;
}

function comparisonLines(report: ComparisonReport): string[] {
  const rows = Object.entries(report.rows)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  const out = [
    `  compare     ${report.equal ? 'EQUAL to the live read models' : `${report.differences.length} rows DIFFER`} (${rows})`,
  ];
  for (const d of report.differences) {
    const what =
      d.kind === 'only_live' ? 'only live' : d.kind === 'only_replayed' ? 'only replayed' : 'differs';
    out.push(`    ${d.readModel} ${d.key}: ${what}`);
    for (const line of d.diff) out.push(`      ${line} (live ≠ replayed)`);
  }
  return out;
}

function summary(results: ReplayResults, written: string[], seconds: number): string[] {
  const rate = seconds > 0 ? Math.round(results.events / seconds) : results.events;
  const out = [
    `  events      ${results.events.toLocaleString('en-US')} in ${seconds.toFixed(2)} s (${rate.toLocaleString('en-US')} events/s)`,
    `  read models ${readModelNames.map((name) => `${name} ${results.readModels[name].length}`).join(', ')}`,
  ];
  const whatIf = results.whatIf;
  if (whatIf?.prices && whatIf.report) {
    out.push(
      `  what-if     prices ${whatIf.prices.priceTableVersion}: ${whatIf.prices.charges} charges, ${dollars(whatIf.prices.recordedMicros)} → ${dollars(whatIf.prices.whatIfMicros)} (delta ${dollars(whatIf.prices.deltaMicros)}), matching rate ${whatIf.report.matching_rate}, drift alert ${whatIf.report.drift_alert}`,
    );
  }
  if (whatIf?.policy) {
    const p = whatIf.policy;
    const transitions = Object.entries(p.byTransition)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ');
    out.push(
      `  what-if     policy ${p.policyVersion}: ${p.flips} of ${p.decisions} decisions flip${transitions ? ` (${transitions})` : ''}`,
    );
  }
  const canaries = results.canaries;
  if (canaries) {
    out.push(
      `  canaries    ${canaries.reproduced} of ${canaries.canaries} verdicts reproduced${canaries.differed.length ? `, ${canaries.differed.length} DIFFER` : ''}${canaries.unverifiable.length ? `, ${canaries.unverifiable.length} unverifiable (${canaries.unverifiable[0]!.missing.join(', ')} not in the export)` : ''}`,
    );
    if (canaries.whatIf) {
      out.push(
        `  what-if     canaries under ${canaries.whatIf.priceTableVersion}: ${canaries.whatIf.changed} of ${canaries.whatIf.canaries.length} verdicts change`,
      );
    }
  }
  out.push(`  wrote       ${written.join(', ')}`);
  return out;
}

async function run(file: string | undefined, options: ReplayCliOptions): Promise<number> {
  if (file && options.db) throw new UsageError('give a FILE or --db, not both');
  if (!file && !options.db) throw new UsageError('give an export FILE, or --db to read the PostgreSQL store');
  const whatIfPrices = options.whatIfPrices ? await readPriceTable(options.whatIfPrices) : undefined;
  const whatIfPolicy = options.whatIfPolicy ? await readPolicy(options.whatIfPolicy) : undefined;
  const session = new ReplaySession({
    certify: options.certify === true,
    ...(whatIfPrices ? { whatIfPrices } : {}),
    ...(whatIfPolicy ? { whatIfPolicy } : {}),
    canaryDatasets: (await shippedDatasets()).map((dataset) => ({ dataset, hash: canonicalHash(dataset) })),
    now: () => new Date(),
  });
  const started = performance.now();
  const { tenantId, verification: report } = await readSource(file, options, session);
  const verification = report && replayVerification(report, options.unverified === true);
  if (verification && !verification.verified && !verification.unverified) {
    const lines = verificationLines(verification).slice(1);
    console.error(
      `aos replay: ${file} does not verify (${verification.problemCount} problems): refused, nothing written; aos verify says more, --unverified replays it anyway\n${lines.join('\n')}`,
    );
    return 1;
  }
  const results = session.finish(verification);
  const seconds = (performance.now() - started) / 1000;
  const written = await writeReplayResults(resolve(options.out), results);
  let comparison: ComparisonReport | undefined;
  if (options.compare) {
    if (!tenantId) throw new UsageError('--compare needs the tenant: give --tenant (the export names it)');
    const live = await liveViews(serverClient());
    comparison = compareReadModels(live, replayedViews(results.readModels, tenantId));
  }
  const ok =
    (verification?.verified ?? true) &&
    (results.certification?.failed ?? 0) === 0 &&
    (results.canaries?.differed.length ?? 0) === 0 &&
    (comparison?.equal ?? true);
  if (options.json) {
    const { readModels, ...rest } = results;
    const rows = Object.fromEntries(readModelNames.map((name) => [name, readModels[name].length]));
    process.stdout.write(`${JSON.stringify({ ok, ...rest, rows, comparison, written, seconds })}\n`);
  } else {
    const lines = [`aos replay ${file ?? '--db'}`];
    if (verification) lines.push(...verificationLines(verification));
    lines.push(...summary(results, written, seconds));
    if (results.certification) lines.push(...certificationLines(results.certification));
    if (comparison) lines.push(...comparisonLines(comparison));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return ok ? 0 : 1;
}

export function replayCommand(program: Command): void {
  program
    .command('replay [file]')
    .description('re-fold an export (or the PostgreSQL store) into every read model, offline')
    .option('--out <dir>', 'where the read models and reports are written', 'replay-out')
    .option('--db', 'read the PostgreSQL store at DATABASE_URL instead of a file')
    .option('--tenant <tenant>', 'with --db: only this tenant; with --compare: the tenant to compare')
    .option('--compare', 'diff the replayed read models against the live ones (AOS_URL, AOS_API_KEY)')
    .option('--certify', 're-run the run decider on each run and compare its events hash for hash')
    .option('--what-if-prices <file>', 're-price every charge under this price table (JSON)')
    .option('--what-if-policy <file>', 're-evaluate every decision under this policy (JSON)')
    .option('--unverified', 'replay an export that does not verify; every report then says UNVERIFIED')
    .option('--json', 'print the summary as one JSON object')
    .option('--no-progress', 'no progress bar')
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (file: string | undefined, options: ReplayCliOptions) => {
      try {
        process.exitCode = await run(file, options);
      } catch (error) {
        if (error instanceof UsageError || error instanceof WhatIfInputError) {
          console.error(`aos replay: ${error.message}`);
          process.exit(2);
        }
        throw error;
      }
    });
}
