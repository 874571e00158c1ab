// Uploaded estimator reference datasets (PUT /v1/admin/estimator-datasets/:name): recorded
// as EstimatorDatasetUploaded on the installation stream `estimator-datasets`, decided by
// domain/estimator-dataset-versions.ts. The shipped datasets (estimators/datasets/) are read
// by the caller and passed in: an upload shadows the shipped dataset of its name.
import type { Actor } from '../domain/actor.ts';
import { SYSTEM_TENANT } from '../domain/actor.ts';
import type { EstimatorDataset } from '../domain/estimator-dataset.ts';
import { datasetVersionsDecider } from '../domain/estimator-dataset-versions.ts';
import type { AosEventData } from '../domain/events/catalog.ts';
import { canonicalHash, sha256Hex } from '../domain/hashing.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { handleCommand, readWholeStream } from './handle-command.ts';

export const DATASETS_STREAM = 'estimator-datasets';

export interface DatasetInForce {
  dataset: EstimatorDataset;
  hash: string;
  source: 'shipped' | 'uploaded';
  /** When and by whom it was uploaded; null for a shipped one. */
  recordedAt: string | null;
  actor: string | null;
}

const uploadedOf = (event: RecordedEvent): DatasetInForce => {
  const { dataset, hash } = event.data as AosEventData<'EstimatorDatasetUploaded'>;
  return {
    dataset,
    hash,
    source: 'uploaded',
    recordedAt: event.recordedAt,
    actor: event.metadata.actor ?? null,
  };
};

/** Every version ever uploaded, oldest first. */
export async function uploadedDatasetVersions(store: EventStore): Promise<DatasetInForce[]> {
  return (await readWholeStream(store, DATASETS_STREAM)).map(uploadedOf);
}

/** The datasets validation runs on: the shipped ones, each shadowed by the latest upload of its name; by name. */
export async function datasetsInForce(
  store: EventStore,
  shipped: readonly EstimatorDataset[],
): Promise<DatasetInForce[]> {
  const byName = new Map<string, DatasetInForce>();
  for (const dataset of shipped) {
    byName.set(dataset.name, {
      dataset,
      hash: canonicalHash(dataset),
      source: 'shipped',
      recordedAt: null,
      actor: null,
    });
  }
  for (const uploaded of await uploadedDatasetVersions(store)) byName.set(uploaded.dataset.name, uploaded);
  return [...byName.values()].sort((a, b) => (a.dataset.name < b.dataset.name ? -1 : 1));
}

/** Records the upload; `changed` is false when this version was already the latest with this content. */
export async function uploadDataset(store: EventStore, dataset: EstimatorDataset, actor: Actor) {
  const handled = await handleCommand(
    store,
    DATASETS_STREAM,
    datasetVersionsDecider,
    { type: 'UploadDataset', dataset },
    {
      // The same content uploaded again is the same command: a retried PUT records nothing twice.
      commandId: `dataset-upload:${sha256Hex(`${dataset.name}:${dataset.version}:${canonicalHash(dataset)}`)}`,
      metadata: { tenantId: SYSTEM_TENANT, actor: `${actor.role}:${actor.id}` },
    },
  );
  return { changed: handled.events.length > 0 && !handled.alreadyApplied };
}
