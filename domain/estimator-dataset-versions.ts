// Uploaded reference datasets are versioned as events (one stream, `estimator-datasets`, so
// they list in one read; EstimatorDatasetUploaded): each name's version names one content (its
// hash) for good. Uploading the
// latest version again changes nothing; a version already used for other content, or one not
// above the latest, is refused naming `version`, so a verdict recorded against "v3" always
// means the same samples and thresholds.
import type { Decider } from './decider.ts';
import { DomainError } from './domain-error.ts';
import type { EstimatorDataset } from './estimator-dataset.ts';
import type { AosEventData } from './events/catalog.ts';
import { canonicalHash } from './hashing.ts';

export type DatasetUploadEvent = {
  type: 'EstimatorDatasetUploaded';
  data: AosEventData<'EstimatorDatasetUploaded'>;
};

/** Per dataset name, the latest version uploaded. */
export type DatasetVersionsState = Record<string, { version: number; hash: string }>;

export interface UploadDataset {
  type: 'UploadDataset';
  dataset: EstimatorDataset;
}

const refuse = (message: string) =>
  new DomainError('INVALID_INPUT', message, { issues: [{ path: ['version'], message }] });

export const datasetVersionsDecider: Decider<DatasetVersionsState, UploadDataset, DatasetUploadEvent> = {
  initialState: () => ({}),
  evolve: (state, event) => ({
    ...state,
    [event.data.dataset.name]: { version: event.data.dataset.version, hash: event.data.hash },
  }),
  decide: ({ dataset }, state) => {
    const latest = state[dataset.name];
    const hash = canonicalHash(dataset);
    if (latest?.version === dataset.version) {
      if (latest.hash === hash) return [];
      throw refuse(`version ${dataset.version} of ${dataset.name} was uploaded before with other content`);
    }
    if (latest && dataset.version < latest.version) {
      throw refuse(`must be above the latest version of ${dataset.name}, ${latest.version}`);
    }
    return [{ type: 'EstimatorDatasetUploaded', data: { hash, dataset } }];
  },
};
