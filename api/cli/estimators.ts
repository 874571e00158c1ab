// `aos estimators validate`: run v1 and v2 on every sample of the shipped reference datasets,
// offline (no server, no runs written), under the default price table, and print each
// dataset's metrics and threshold verdicts. Exits 1 when a verdict is not the expected one.
import type { Command } from 'commander';
import { type DatasetValidation, validateDataset } from '../../domain/estimator-validation.ts';
import { defaultPriceTable } from '../../domain/pricing.ts';
import { shippedDatasets } from '../shipped-datasets.ts';
import { UsageError } from './replay.ts';

function validationTable(reports: readonly DatasetValidation[]): string {
  const rows = [['dataset', 'estimator', 'verdict', 'expected', 'median err', 'p90 err', 'KL', 'within']];
  for (const report of reports) {
    for (const result of report.estimators) {
      rows.push([
        report.dataset,
        result.estimator,
        result.verdict,
        result.asExpected ? 'yes' : 'NO',
        String(result.metrics.medianAbsErrorMicros),
        String(result.metrics.p90AbsErrorMicros),
        result.metrics.kl.toFixed(4),
        result.metrics.withinTolerance.toFixed(3),
      ]);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')).join('\n');
}

export function estimatorsCommand(program: Command): void {
  program
    .command('estimators')
    .description('cost estimator tools')
    .command('validate')
    .description('run v1 and v2 on the shipped reference datasets and judge their thresholds (offline)')
    .option('--dataset <name>', 'only this dataset')
    .option('--json', 'print the reports as JSON')
    .action(async (options: { dataset?: string; json?: boolean }) => {
      const datasets = (await shippedDatasets()).filter(
        (d) => options.dataset === undefined || d.name === options.dataset,
      );
      if (datasets.length === 0) throw new UsageError(`no dataset named ${options.dataset}`);
      const reports = datasets.map((dataset) => validateDataset(dataset, defaultPriceTable));
      console.log(options.json ? JSON.stringify(reports, null, 2) : validationTable(reports));
      if (reports.some((report) => report.estimators.some((result) => !result.asExpected)))
        process.exitCode = 1;
    });
}
