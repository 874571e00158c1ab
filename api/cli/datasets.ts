// `aos datasets build --from-export FILE`: the historical reference dataset from recorded runs
// (domain/estimator-history.ts): each succeeded run of an export made by `aos export` is a
// sample, its expected range from what it was charged. Offline; an export that does not verify
// is refused (a dataset built from altered events would judge estimators on made-up costs).
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { datasetNameSchema, estimatorDatasetSchema } from '../../domain/estimator-dataset.ts';
import { RecordedRunCosts } from '../../domain/estimator-history.ts';
import { readExportFile } from '../../replay/event-source.ts';
import { UsageError } from './replay.ts';

interface BuildOptions {
  fromExport: string;
  name: string;
  version: string;
  headroom: string;
  expectV1: string;
  expectV2: string;
  out?: string;
}

const verdict = (value: string, flag: string) => {
  if (value !== 'pass' && value !== 'fail')
    throw new UsageError(`${flag} must be pass or fail, not ${value}`);
  return value;
};

function positiveNumber(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0)
    throw new UsageError(`${flag} must be a number >= 0, not ${value}`);
  return number;
}

export function datasetsCommand(program: Command): void {
  program
    .command('datasets')
    .description('estimator reference datasets')
    .command('build')
    .description('build the historical dataset from the runs of an export (estimates vs charged costs)')
    .requiredOption('--from-export <file>', 'an export made by `aos export`')
    .option('--name <name>', 'the dataset name', 'historical')
    .option('--version <n>', 'the dataset version', '1')
    .option('--headroom <share>', 'how far above the charge an estimate still counts as right', '1')
    .option('--expect-v1 <verdict>', 'the verdict v1 is expected to get (pass or fail)', 'fail')
    .option('--expect-v2 <verdict>', 'the verdict v2 is expected to get (pass or fail)', 'pass')
    .option('--out <file>', 'write the dataset here (default: stdout)')
    .action(async (options: BuildOptions) => {
      const name = datasetNameSchema.safeParse(options.name);
      if (!name.success) throw new UsageError(`--name: ${name.error.issues[0]!.message}`);
      const version = Number(options.version);
      if (!Number.isInteger(version) || version < 1)
        throw new UsageError('--version must be a positive integer');
      const costs = new RecordedRunCosts();
      const { verification } = await readExportFile(options.fromExport, costs.add).catch((error: Error) => {
        throw new UsageError(`cannot read ${options.fromExport}: ${error.message}`);
      });
      if (!verification.ok) {
        const problems = verification.problems.map((problem) => problem.message).join('; ');
        throw new UsageError(`${options.fromExport} does not verify: ${problems} (aos verify says more)`);
      }
      const dataset = estimatorDatasetSchema.parse(
        costs.dataset({
          name: name.data,
          version,
          headroom: positiveNumber(options.headroom, '--headroom'),
          expectedVerdicts: {
            v1: verdict(options.expectV1, '--expect-v1'),
            v2: verdict(options.expectV2, '--expect-v2'),
          },
        }),
      );
      const text = `${JSON.stringify(dataset, null, 2)}\n`;
      if (options.out) await writeFile(options.out, text);
      else process.stdout.write(text);
      const { unfinished, childRuns } = costs.leftOut();
      console.error(
        `${dataset.samples.length} runs made samples; left out: ${unfinished} that did not succeed, ${childRuns} with child runs`,
      );
    });
}
