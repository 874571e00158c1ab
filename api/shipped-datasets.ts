// The reference datasets shipped in the repo (estimators/datasets/*.json), read and checked
// against the schema, so a malformed file names its field instead of skewing a verdict.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EstimatorDataset, estimatorDatasetSchema } from '../domain/estimator-dataset.ts';

const DATASETS_DIR = join(import.meta.dirname, '../estimators/datasets');

export async function shippedDatasets(): Promise<EstimatorDataset[]> {
  const files = (await readdir(DATASETS_DIR)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const parsed = estimatorDatasetSchema.safeParse(
        JSON.parse(await readFile(join(DATASETS_DIR, file), 'utf8')),
      );
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new Error(`${file}: ${issue.path.join('.')}: ${issue.message}`);
      }
      return parsed.data;
    }),
  );
}
