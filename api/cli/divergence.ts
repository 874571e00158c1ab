// `aos divergence`: the live divergence report of the key's tenant (GET /v1/divergence), as a
// table in the terminal, as JSON, or as the same self-contained HTML page `aos replay`'s
// what-if writes (replay/report-html.ts). Drift over time is one report per UTC day.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AosClient } from '../../client/index.ts';
import type { DivergenceReport } from '../../domain/divergence.ts';
import { type DayDrift, type DivergenceView, histogram } from '../../replay/divergence-view.ts';
import { renderDivergenceHtml } from '../../replay/report-html.ts';
import { dollars } from '../../replay/svg-charts.ts';
import { UsageError } from './replay.ts';
import { serverClient } from './server-client.ts';

const DAY_MS = 86_400_000;

interface DivergenceCliOptions {
  source: string;
  days: string;
  json?: boolean;
  html?: string;
}

export async function liveDivergenceView(
  server: AosClient,
  source: 'estimators' | 'actual',
  days: number,
  now: Date,
): Promise<DivergenceView> {
  // Whole UTC days, today included, so the per-day reports add up to the overall one.
  const end = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS + DAY_MS);
  const start = new Date(end.getTime() - days * DAY_MS);
  const report: DivergenceReport = await server.divergence({
    query: { source, start_date: start.toISOString(), end_date: end.toISOString() },
  });
  const byDay: DayDrift[] = [];
  for (let day = start.getTime(); day < end.getTime(); day += DAY_MS) {
    const r = await server.divergence({
      query: {
        source,
        start_date: new Date(day).toISOString(),
        end_date: new Date(day + DAY_MS).toISOString(),
      },
    });
    if (r.sample_count === 0) continue;
    byDay.push({
      day: new Date(day).toISOString().slice(0, 10),
      sample_count: r.sample_count,
      delta_p50: r.delta_p50,
      delta_p90: r.delta_p90,
      kl_divergence: r.kl_divergence,
      matching_rate: r.matching_rate,
      drift_alert: r.drift_alert,
    });
  }
  return {
    title: `AOS divergence (${source})`,
    description: `${source === 'actual' ? 'estimate (baseline) vs charged cost (compared)' : 'estimator v1 (baseline) vs v2 (compared)'}, ${start.toISOString().slice(0, 10)} to ${end.toISOString().slice(0, 10)} (exclusive); the histogram covers the ${report.detailed_samples.length} newest samples`,
    generatedAt: now.toISOString(),
    report,
    byDay,
    deltaHistogram: histogram(report.detailed_samples.map((s) => s.cost_delta)),
  };
}

export function divergenceTable(view: DivergenceView): string {
  const r = view.report!;
  const rows: string[][] = [
    ['day', 'samples', 'delta p50', 'delta p90', 'KL', 'matching', 'alert'],
    ...view.byDay.map((d) => [
      d.day,
      String(d.sample_count),
      dollars(d.delta_p50),
      dollars(d.delta_p90),
      String(d.kl_divergence),
      String(d.matching_rate),
      d.drift_alert ? 'YES' : 'no',
    ]),
    [
      'all',
      String(r.sample_count),
      dollars(r.delta_p50),
      dollars(r.delta_p90),
      String(r.kl_divergence),
      String(r.matching_rate),
      r.drift_alert ? 'YES' : 'no',
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [
    view.title,
    view.description,
    '',
    line(rows[0]!),
    rule,
    ...rows.slice(1, -1).map(line),
    rule,
    line(rows.at(-1)!),
    '',
    `outliers ${r.outlier_count}, fail ratio ${r.fail_ratio}`,
  ].join('\n');
}

export function divergenceCommand(program: Command): void {
  program
    .command('divergence')
    .description("the live cost divergence report of the key's tenant (AOS_URL, AOS_API_KEY)")
    .option('--source <source>', 'actual (estimate vs charged) or estimators (v1 vs v2)', 'actual')
    .option('--days <n>', 'UTC days up to today, 1–90', '7')
    .option('--json', 'print the report as JSON')
    .option('--html <file>', 'write the report as a self-contained HTML page with charts')
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (options: DivergenceCliOptions) => {
      try {
        if (options.source !== 'actual' && options.source !== 'estimators') {
          throw new UsageError(
            `--source must be actual or estimators, not ${JSON.stringify(options.source)}`,
          );
        }
        const days = Number(options.days);
        if (!Number.isInteger(days) || days < 1 || days > 90) {
          throw new UsageError(
            `--days must be a whole number from 1 to 90, not ${JSON.stringify(options.days)}`,
          );
        }
        const view = await liveDivergenceView(serverClient(), options.source, days, new Date());
        if (options.html) {
          await writeFile(options.html, renderDivergenceHtml(view));
          console.error(`wrote ${options.html}`);
        }
        if (options.json) process.stdout.write(`${JSON.stringify(view)}\n`);
        else if (!options.html) process.stdout.write(`${divergenceTable(view)}\n`);
      } catch (error) {
        if (error instanceof UsageError) {
          console.error(`aos divergence: ${error.message}`);
          process.exit(2);
        }
        throw error;
      }
    });
}
