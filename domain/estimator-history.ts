// The historical reference dataset (issue 18, item 1): recorded runs, each a sample whose
// expected range comes from what it was actually charged. Fed the events of an export in
// commit order (`add`), then `dataset(...)`. Pure: the caller reads the file.
//
// Which runs make a sample: root runs that succeeded (every step ran, so the charges are the
// plan's whole cost) and start no child run (a child's charges are in its own stream, its
// estimate is the budget it asks for). A failed or cancelled run's charges stop part way, so
// they say nothing about what the plan costs.
//
// The expected range is [charged, charged × (1 + headroom)]: an estimate below the charge
// would let a reservation run short, so any shortfall is an error; an estimate above it is a
// reservation held back from other runs, acceptable up to the headroom (default 1: twice the
// charge), since v2 reserves every call's maxTokens while a call often uses fewer.
import { DomainError } from './domain-error.ts';
import type { DatasetThresholds, EstimatorDataset, EstimatorName } from './estimator-dataset.ts';
import type { RunEventData } from './events/run-events.ts';
import type { RecordedEvent } from './store/envelope.ts';

/** A run as a sample: its plan, its budget and what it was charged in all. */
export interface ChargedRun {
  runId: string;
  steps: { skill: string; input: Record<string, unknown> }[];
  budgetMicros: number;
  chargedMicros: number;
  tags: string[];
}

interface RecordedRun extends ChargedRun {
  tenantId: string;
  priceTableVersion: string;
  succeeded: boolean;
}

const CHILD_SKILLS = new Set(['agent_invoke', 'agent_spawn']);

export interface HistoricalOptions {
  name: string;
  description?: string;
  version: number;
  /** How far above the charge an estimate may be and still count as inside (1: up to twice). */
  headroom: number;
  expectedVerdicts: Record<EstimatorName, 'pass' | 'fail'>;
  /** Defaults derive from the charges (historicalThresholds). */
  thresholds?: DatasetThresholds;
}

/** The part of the 50th / 90th percentile charge the median / p90 error may reach. */
const MEDIAN_ERROR_SHARE = 0.1;
const P90_ERROR_SHARE = 0.5;

function percentile(sorted: readonly number[], share: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

/**
 * Thresholds scaled to the charges, since a historical set's costs are whatever was run: the
 * median error at most a tenth of the median charge, the p90 error half the p90 charge, the
 * misses barely changing the distribution (KL 0.1) and at least 80 % of the runs inside.
 */
export function historicalThresholds(charges: readonly number[]): DatasetThresholds {
  const sorted = [...charges].sort((a, b) => a - b);
  return {
    medianAbsErrorMicros: Math.ceil(percentile(sorted, 0.5) * MEDIAN_ERROR_SHARE),
    p90AbsErrorMicros: Math.ceil(percentile(sorted, 0.9) * P90_ERROR_SHARE),
    maxKl: 0.1,
    minWithinTolerance: 0.8,
  };
}

export class RecordedRunCosts {
  readonly #runs = new Map<string, RecordedRun>();
  readonly #skipped = new Set<string>();

  add = (event: RecordedEvent): void => {
    if (event.type === 'RunSubmitted') {
      const data = event.data as RunEventData<'RunSubmitted'>;
      const steps = data.plan.steps.map((step) => ({ skill: step.skill, input: step.input }));
      if (data.parent !== undefined || steps.some((step) => CHILD_SKILLS.has(step.skill))) {
        this.#skipped.add(data.runId);
        return;
      }
      this.#runs.set(data.runId, {
        runId: data.runId,
        tenantId: data.tenantId,
        tags: ['historical', `agent:${data.agentId}`],
        steps,
        budgetMicros: data.budget.maxCostMicros,
        priceTableVersion: data.priceTable.version,
        chargedMicros: 0,
        succeeded: false,
      });
    } else if (event.type === 'CostCharged') {
      const data = event.data as RunEventData<'CostCharged'>;
      const run = this.#runs.get(data.runId);
      if (run) run.chargedMicros += data.chargedMicros;
    } else if (event.type === 'RunCompleted') {
      const data = event.data as RunEventData<'RunCompleted'>;
      const run = this.#runs.get(data.runId);
      if (run) run.succeeded = data.status === 'succeeded';
    }
  };

  /** Runs that make samples, in the order they were submitted. */
  samples(): RecordedRun[] {
    return [...this.#runs.values()].filter((run) => run.succeeded);
  }

  /** How many runs were left out, and why. */
  leftOut(): { unfinished: number; childRuns: number } {
    return { unfinished: this.#runs.size - this.samples().length, childRuns: this.#skipped.size };
  }

  dataset(options: HistoricalOptions): EstimatorDataset {
    const runs = this.samples();
    if (runs.length === 0)
      throw new DomainError('INVALID_INPUT', 'no succeeded root run in the export: nothing to build from');
    const tables = [...new Set(runs.map((run) => run.priceTableVersion))].sort();
    return chargedRunsDataset(runs, {
      description: `${runs.length} succeeded runs, each expected to cost from what it was charged to ${1 + options.headroom} times that (price table${tables.length > 1 ? 's' : ''} ${tables.join(', ')}).`,
      ...options,
    });
  }
}

/** Charged runs as a historical dataset (an export's, or the canary's sample of the last day). */
export function chargedRunsDataset(
  runs: readonly ChargedRun[],
  options: HistoricalOptions & { description: string },
): EstimatorDataset {
  return {
    name: options.name,
    version: options.version,
    kind: 'historical',
    description: options.description,
    thresholds: options.thresholds ?? historicalThresholds(runs.map((run) => run.chargedMicros)),
    expectedVerdicts: options.expectedVerdicts,
    samples: runs.map((run) => ({
      id: run.runId,
      steps: run.steps,
      budgetMicros: run.budgetMicros,
      expected: {
        minMicros: run.chargedMicros,
        maxMicros: Math.ceil(run.chargedMicros * (1 + options.headroom)),
        feasible: true,
      },
      tags: run.tags,
    })),
  };
}
