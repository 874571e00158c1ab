// One pass of `aos replay`: every event goes to the fold (the read models) and, when asked,
// to the run certifier and the what-if evaluators. The results are written as JSON files
// (and the what-if report as HTML) into one directory.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EstimatorDataset } from '../domain/estimator-dataset.ts';
import type { HashedPolicy } from '../domain/policy.ts';
import type { HashedPriceTable } from '../domain/pricing.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { CanaryReplay, type CanaryReplayReport } from './canary-replay.ts';
import { type CertificationReport, RunCertifier } from './certify-runs.ts';
import { type DivergenceView, samplesView, windowOfSamples } from './divergence-view.ts';
import { type ReadModels, ReplayFold, readModelNames } from './replay-fold.ts';
import type { ReplayVerification } from './replay-verification.ts';
import { renderDivergenceHtml } from './report-html.ts';
import { PolicyWhatIf } from './what-if-policy.ts';
import { PriceWhatIf } from './what-if-prices.ts';

export interface ReplayOptions {
  certify?: boolean;
  whatIfPrices?: HashedPriceTable;
  whatIfPolicy?: HashedPolicy;
  /** The shipped estimator datasets, so that recorded canary verdicts can be judged again. */
  canaryDatasets?: readonly { dataset: EstimatorDataset; hash: string }[];
  /** The report's time stamp (the caller's clock: replay itself reads none). */
  now: () => Date;
}

export interface ReplayResults {
  events: number;
  /** For an export file: whether it verified (absent for a store, whose reads are not a file). */
  verification?: ReplayVerification;
  readModels: ReadModels;
  certification?: CertificationReport;
  whatIf?: DivergenceView;
  /** The recorded canary verdicts judged again (and under the what-if prices); absent when there were none. */
  canaries?: CanaryReplayReport;
}

export class ReplaySession {
  readonly fold = new ReplayFold();
  readonly #certifier: RunCertifier | undefined;
  readonly #prices: PriceWhatIf | undefined;
  readonly #policy: PolicyWhatIf | undefined;
  readonly #canaries: CanaryReplay;

  constructor(readonly options: ReplayOptions) {
    this.#certifier = options.certify ? new RunCertifier() : undefined;
    this.#prices = options.whatIfPrices ? new PriceWhatIf(options.whatIfPrices) : undefined;
    this.#policy = options.whatIfPolicy ? new PolicyWhatIf(options.whatIfPolicy) : undefined;
    this.#canaries = new CanaryReplay(options.canaryDatasets ?? [], options.whatIfPrices);
  }

  readonly add = (event: RecordedEvent): void => {
    this.fold.add(event);
    this.#certifier?.add(event);
    this.#prices?.add(event);
    this.#policy?.add(event);
    this.#canaries.add(event);
  };

  /** `verification`: what the export's verification found, carried onto every report. */
  finish(verification?: ReplayVerification): ReplayResults {
    const results: ReplayResults = { events: this.fold.events, readModels: this.fold.readModels() };
    if (verification) results.verification = verification;
    if (this.#certifier) results.certification = this.#certifier.finish();
    if (this.#prices || this.#policy) results.whatIf = this.#whatIfView(verification);
    const canaries = this.#canaries.finish();
    if (canaries) results.canaries = canaries;
    return results;
  }

  #whatIfView(verification: ReplayVerification | undefined): DivergenceView {
    const prices = this.#prices;
    const policy = this.#policy?.report();
    const described = [
      prices &&
        `recorded charges (baseline) vs the same usage under price table ${prices.table.version} (compared)`,
      policy && `recorded policy decisions vs policy ${policy.policyVersion}`,
    ].filter(Boolean);
    const view: DivergenceView = {
      title: 'AOS what-if divergence',
      description: described.join('; '),
      generatedAt: this.options.now().toISOString(),
      report: null,
      byDay: [],
      deltaHistogram: [],
    };
    if (prices) {
      Object.assign(view, samplesView(prices.samples, windowOfSamples(prices.samples, 'actual')));
      const table = this.options.whatIfPrices!;
      view.prices = { ...prices.totals, priceTableVersion: table.version, priceTableHash: table.hash };
    }
    if (policy) view.policy = policy;
    if (verification) view.verification = verification;
    return view;
  }
}

/**
 * Writes <read model>.json for each read model, and the certification and what-if reports;
 * verification.json, and the verification inside each report, say whether the export verified.
 */
export async function writeReplayResults(dir: string, results: ReplayResults): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const write = async (name: string, text: string) => {
    await writeFile(join(dir, name), text);
    written.push(join(dir, name));
  };
  const json = (value: unknown) => `${JSON.stringify(value, null, 1)}\n`;
  for (const name of readModelNames) await write(`${name}.json`, json(results.readModels[name]));
  const { verification } = results;
  if (verification) await write('verification.json', json(verification));
  if (results.certification) {
    await write(
      'certification.json',
      json({ ...results.certification, ...(verification ? { verification } : {}) }),
    );
  }
  if (results.canaries) await write('canaries.json', json(results.canaries));
  if (results.whatIf) {
    await write('what-if.json', json(results.whatIf));
    await write('what-if.html', renderDivergenceHtml(results.whatIf));
  }
  return written;
}
