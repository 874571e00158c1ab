// Canary verdicts in replay (issue 18, item 5): every CanaryCompleted of the replayed events is
// judged again by the same pure function (domain/estimator-canary.ts) on what it recorded — its
// sample of runs with their charges, the price table it named (by hash: from the export's
// PriceTableAdopted events, or the default table) and the datasets it named (by hash: uploaded
// ones from the export's EstimatorDatasetUploaded events, shipped ones from the caller). The
// replayed report must equal the recorded one. With a what-if price table, each canary is also
// judged under it: which verdicts would change.
import { type CanaryReport, judgeCanary } from '../domain/estimator-canary.ts';
import type { EstimatorDataset } from '../domain/estimator-dataset.ts';
import type { AosEventData } from '../domain/events/catalog.ts';
import { canonicalJson } from '../domain/hashing.ts';
import { defaultPriceTable, type HashedPriceTable, withPriceTableHash } from '../domain/pricing.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { projectedEvent } from '../projections/projection.ts';

export interface CanaryReplayReport {
  canaries: number;
  reproduced: number;
  /** Replayed to another report than the one recorded. */
  differed: { canaryId: string; recordedVerdict: string; replayedVerdict: string }[];
  /** Could not be judged again: what the export lacks. */
  unverifiable: { canaryId: string; missing: string[] }[];
  /** With a what-if price table: each canary's verdict under it. */
  whatIf?: {
    priceTableVersion: string;
    priceTableHash: string;
    canaries: { canaryId: string; recorded: string; whatIf: string; severity: CanaryReport['severity'] }[];
    changed: number;
  };
}

export class CanaryReplay {
  readonly #tables = new Map<string, HashedPriceTable>();
  readonly #datasets = new Map<string, EstimatorDataset>();
  readonly #recorded: CanaryReport[] = [];

  constructor(
    shipped: readonly { dataset: EstimatorDataset; hash: string }[],
    readonly whatIfPrices?: HashedPriceTable,
  ) {
    const fallback = withPriceTableHash(defaultPriceTable);
    this.#tables.set(fallback.hash, fallback);
    for (const { dataset, hash } of shipped) this.#datasets.set(hash, dataset);
  }

  readonly add = (recorded: RecordedEvent): void => {
    if (recorded.type === 'PriceTableAdopted') {
      const { version, hash, models } = projectedEvent(recorded).data as AosEventData<'PriceTableAdopted'>;
      this.#tables.set(hash, { version, hash, models });
    } else if (recorded.type === 'EstimatorDatasetUploaded') {
      const { hash, dataset } = projectedEvent(recorded).data as AosEventData<'EstimatorDatasetUploaded'>;
      this.#datasets.set(hash, dataset);
    } else if (recorded.type === 'CanaryCompleted') {
      this.#recorded.push(projectedEvent(recorded).data as CanaryReport);
    }
  };

  #judge(report: CanaryReport, priceTable: HashedPriceTable) {
    const datasets = report.metrics.datasets.map(({ hash }) => ({
      dataset: this.#datasets.get(hash)!,
      hash,
    }));
    return judgeCanary({ ...report, priceTable, datasets });
  }

  finish(): CanaryReplayReport | undefined {
    if (this.#recorded.length === 0) return undefined;
    const result: CanaryReplayReport = { canaries: 0, reproduced: 0, differed: [], unverifiable: [] };
    for (const report of this.#recorded) {
      result.canaries++;
      const table = this.#tables.get(report.priceTable.hash);
      const missing = [
        ...(table
          ? []
          : [`price table ${report.priceTable.version} (${report.priceTable.hash.slice(0, 12)})`]),
        ...report.metrics.datasets
          .filter(({ hash }) => !this.#datasets.has(hash))
          .map(({ name, version }) => `dataset ${name} v${version}`),
      ];
      if (missing.length > 0) {
        result.unverifiable.push({ canaryId: report.canaryId, missing });
        continue;
      }
      const replayed = this.#judge(report, table!);
      if (canonicalJson(replayed) === canonicalJson(report)) result.reproduced++;
      else {
        result.differed.push({
          canaryId: report.canaryId,
          recordedVerdict: report.verdict,
          replayedVerdict: replayed.verdict,
        });
      }
    }
    if (this.whatIfPrices) {
      const judgeable = this.#recorded.filter(
        (report) => !result.unverifiable.some((entry) => entry.canaryId === report.canaryId),
      );
      const canaries = judgeable.map((report) => {
        const whatIf = this.#judge(report, this.whatIfPrices!);
        return {
          canaryId: report.canaryId,
          recorded: report.verdict,
          whatIf: whatIf.verdict,
          severity: whatIf.severity,
        };
      });
      result.whatIf = {
        priceTableVersion: this.whatIfPrices.version,
        priceTableHash: this.whatIfPrices.hash,
        canaries,
        changed: canaries.filter((canary) => canary.whatIf !== canary.recorded).length,
      };
    }
    return result;
  }
}
