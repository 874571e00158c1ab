// `aos canary run | list` and `aos estimators enable NAME --reason TEXT`: the estimator canary
// and the drift breaker through the server (POST /v1/admin/estimators/canary, GET
// /v1/estimators/canary, POST /v1/admin/estimators/:estimator/enable). `run` and `enable` need
// the system key in AOS_API_KEY; `list` any key. `run` exits 1 when the verdict is fail.
import type { Command } from 'commander';
import { serverClient } from './server-client.ts';

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

export function canaryCommand(program: Command): void {
  const canary = program.command('canary').description('the estimator canary (docs/estimators.md)');
  canary
    .command('run')
    .description("run the canary now: re-estimate the last day's runs, judge, record CanaryCompleted")
    .action(async () => {
      const outcome = await serverClient(process.env, { keyHint: 'the system key' }).runCanary();
      if (!outcome.ran || !outcome.report) {
        console.error('another instance is running the canary; nothing recorded');
        process.exitCode = 3;
        return;
      }
      const { verdict, severity, reasons } = outcome.report;
      console.error(
        `canary ${verdict}: v1 ${severity.v1 ?? 'sound'}, v2 ${severity.v2 ?? 'sound'}${reasons.length ? `\n  ${reasons.join('\n  ')}` : ''}`,
      );
      print(outcome.report);
      if (verdict === 'fail') process.exitCode = 1;
    });
  canary
    .command('list')
    .description("print the canary's reports, newest first")
    .option('--limit <n>', 'at most this many', '30')
    .action(async (options: { limit: string }) => {
      print((await serverClient().listCanaryReports({ query: { limit: Number(options.limit) } })).items);
    });
}
