// `aos estimators validate`: run v1 and v2 on every sample of the shipped reference datasets,
// offline (no server, no runs written), under the default price table or a what-if one, and
// print each dataset's metrics and threshold verdicts, or write the HTML report with charts.
// Exits 1 when a verdict is not the expected one. (The server's datasets, uploads included:
// POST /v1/admin/estimators/validate.)
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type DatasetValidation, validateDataset } from '../../domain/estimator-validation.ts';
import { defaultPriceTable, withPriceTableHash } from '../../domain/pricing.ts';
import { renderValidationHtml } from '../../replay/estimator-validation-html.ts';
import { readPriceTable } from '../../replay/what-if-input.ts';
import { shippedDatasets } from '../shipped-datasets.ts';
import { UsageError } from './replay.ts';
import { serverClient } from './server-client.ts';

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
  const estimators = program.command('estimators').description('cost estimator tools');
  estimators
    .command('status')
    .description("print the drift breaker: which estimator budgets rely on, and each one's state (any key)")
    .action(async () => console.log(JSON.stringify(await serverClient().estimatorStatus(), null, 2)));
  estimators
    .command('enable <estimator>')
    .description('put an estimator the drift breaker disabled back in service (the system key)')
    .requiredOption('--reason <text>', 'why it is fit again (recorded in EstimatorEnabled)')
    .action(async (estimator: string, options: { reason: string }) => {
      if (estimator !== 'v1' && estimator !== 'v2')
        throw new UsageError(`no estimator ${estimator}: v1 or v2`);
      const enabled = await serverClient().enableEstimator({
        params: { estimator },
        body: { reason: options.reason },
      });
      console.error(
        enabled.changed ? `${estimator} is back in service` : `${estimator} was in service; nothing recorded`,
      );
      console.log(JSON.stringify(enabled.state, null, 2));
    });
  estimators
    .command('validate')
    .description('run v1 and v2 on the shipped reference datasets and judge their thresholds (offline)')
    .option('--dataset <name>', 'only this dataset')
    .option('--json', 'print the reports as JSON')
    .option('--html <file>', 'also write the report with charts as one self-contained HTML page')
    .option('--what-if-prices <file>', 'validate under this price table (JSON) instead of the default')
    .action(async (options: { dataset?: string; json?: boolean; html?: string; whatIfPrices?: string }) => {
      const datasets = (await shippedDatasets()).filter(
        (d) => options.dataset === undefined || d.name === options.dataset,
      );
      if (datasets.length === 0) throw new UsageError(`no dataset named ${options.dataset}`);
      const priceTable = options.whatIfPrices
        ? await readPriceTable(options.whatIfPrices)
        : withPriceTableHash(defaultPriceTable);
      const reports = datasets.map((dataset) => validateDataset(dataset, priceTable));
      if (options.html) {
        const generatedAt = new Date().toISOString();
        await writeFile(
          options.html,
          renderValidationHtml(reports, { generatedAt, priceTableVersion: priceTable.version }),
        );
      }
      console.log(options.json ? JSON.stringify(reports, null, 2) : validationTable(reports));
      if (reports.some((report) => report.estimators.some((result) => !result.asExpected)))
        process.exitCode = 1;
    });
}
