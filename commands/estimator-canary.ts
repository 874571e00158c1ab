// The estimator canary (issue 18, item 3): one instance at a time (the lock port: a
// PostgreSQL advisory lock, or the process on PGlite), it samples the last day's succeeded
// runs, re-estimates them with both estimators under the price table in force, validates the
// reference datasets again, records CanaryCompleted (stream `estimator-canary`, tenant
// `system`) and hands its severities to the drift breaker. Scheduled runs happen once per
// interval across every `aos serve`: a tick finds the canary due only when none completed
// within the interval, and checks that under the lock.
import { SYSTEM_TENANT } from '../domain/actor.ts';
import type { BreakerPolicy, DriftSignal } from '../domain/estimator-breaker.ts';
import { type CanaryReport, type CanarySample, judgeCanary } from '../domain/estimator-canary.ts';
import type { EstimatorDataset } from '../domain/estimator-dataset.ts';
import { estimatorNames } from '../domain/estimator-dataset.ts';
import { RecordedRunCosts } from '../domain/estimator-history.ts';
import { validateNewEvent } from '../domain/events/catalog.ts';
import { deterministicUuid } from '../domain/hashing.ts';
import { runStreamId } from '../domain/run/decider.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { applyDriftSignals } from './estimator-breaker.ts';
import { readWholeStream } from './handle-command.ts';
import { currentPriceTable } from './reference-data.ts';

export const CANARY_STREAM = 'estimator-canary';
export const CANARY_WINDOW_MS = 24 * 3_600_000;
/** The sample is recorded in the event: it stops growing at this many bytes of plans. */
export const MAX_SAMPLE_BYTES = 512 * 1024;

/** Runs one function at a time across every instance; answers null when another holds it. */
export interface CanaryLock {
  withLock<T>(fn: () => Promise<T>): Promise<{ value: T } | null>;
}

/** Succeeded runs submitted in [from, to): how many, and up to `limit` of them in a stable order. */
export type RecentRuns = (
  window: { from: string; to: string },
  limit: number,
) => Promise<{ candidates: number; runs: { runId: string; tenantId: string }[] }>;

export interface CanaryDeps {
  store: EventStore;
  clock: () => Date;
  lock: CanaryLock;
  recentRuns: RecentRuns;
  /** The datasets in force (shipped, shadowed by uploads) with their hashes. */
  datasets: () => Promise<{ dataset: EstimatorDataset; hash: string }[]>;
  policy: BreakerPolicy;
  sampleSize: number;
  /** The live divergence report of the last day as a drift signal (null: no drift); absent, not checked. */
  liveDrift?: (now: Date) => Promise<DriftSignal | null>;
}

export type CanaryOutcome =
  | { ran: true; report: CanaryReport; event: RecordedEvent }
  | { ran: false; why: 'locked' | 'not_due' };

async function sampleOf(deps: CanaryDeps, window: { from: string; to: string }) {
  const { candidates, runs } = await deps.recentRuns(window, deps.sampleSize);
  const sample: CanarySample[] = [];
  let bytes = 0;
  for (const { runId, tenantId } of runs) {
    const costs = new RecordedRunCosts();
    for (const event of await readWholeStream(deps.store, runStreamId(runId))) costs.add(event);
    for (const run of costs.samples()) {
      const entry = {
        runId: run.runId,
        tenantId,
        steps: run.steps,
        budgetMicros: run.budgetMicros,
        chargedMicros: run.chargedMicros,
      };
      bytes += JSON.stringify(entry).length;
      if (bytes > MAX_SAMPLE_BYTES) return { candidates, sample };
      sample.push(entry);
    }
  }
  return { candidates, sample };
}

/** The last canary recorded, if any. */
export async function lastCanary(store: EventStore): Promise<RecordedEvent | undefined> {
  const [last] = await store.readStream(CANARY_STREAM, { direction: 'backward', limit: 1 });
  return last;
}

function signalsOf(report: CanaryReport): DriftSignal[] {
  return estimatorNames.map((estimator) => {
    const metrics = report.metrics[estimator];
    const mine = report.reasons.filter((reason) => reason.startsWith(`${estimator} `));
    return {
      source: 'canary' as const,
      estimator,
      severity: report.severity[estimator],
      reason:
        mine.length > 0
          ? `canary ${report.canaryId}: ${mine.join('; ')}`
          : `canary ${report.canaryId}: ${estimator} sound`,
      metrics: {
        samples: metrics.samples,
        medianAbsErrorMicros: metrics.medianAbsErrorMicros,
        p90AbsErrorMicros: metrics.p90AbsErrorMicros,
        kl: metrics.kl,
        withinTolerance: metrics.withinTolerance,
      },
    };
  });
}

/**
 * Runs the canary now (on demand) or, with `dueAfterMs`, only when no canary completed in that
 * long (the schedule). Answers what it recorded, or why it did not run.
 */
export async function runCanary(
  deps: CanaryDeps,
  trigger: CanaryReport['trigger'],
  dueAfterMs?: number,
): Promise<CanaryOutcome> {
  const outcome = await deps.lock.withLock(async (): Promise<CanaryOutcome> => {
    const now = deps.clock();
    if (dueAfterMs !== undefined) {
      const last = await lastCanary(deps.store);
      if (last && now.getTime() - Date.parse(last.recordedAt) < dueAfterMs)
        return { ran: false, why: 'not_due' };
    }
    const window = { from: new Date(now.getTime() - CANARY_WINDOW_MS).toISOString(), to: now.toISOString() };
    const [{ candidates, sample }, priceTable, datasets] = await Promise.all([
      sampleOf(deps, window),
      currentPriceTable(deps.store),
      deps.datasets(),
    ]);
    const canaryId = deterministicUuid('canary', now.toISOString(), trigger);
    const report = judgeCanary({
      canaryId,
      trigger,
      window,
      candidates,
      sample,
      priceTable,
      datasets,
      at: now.toISOString(),
    });
    const valid = validateNewEvent({ type: 'CanaryCompleted', data: report });
    await deps.store.append(
      CANARY_STREAM,
      [
        {
          eventId: canaryId,
          type: valid.type,
          schemaVersion: valid.schemaVersion,
          data: valid.data,
          metadata: { tenantId: SYSTEM_TENANT, actor: 'system:canary' },
        },
      ],
      { expectedVersion: 'any' },
    );
    await applyDriftSignals(deps.store, signalsOf(report), deps.policy, {
      at: now,
      commandId: `canary-breaker:${canaryId}`,
    });
    return { ran: true, report, event: (await lastCanary(deps.store))! };
  });
  return outcome?.value ?? { ran: false, why: 'locked' };
}

/**
 * Hands the live divergence report's drift to the breaker, under the canary's lock so that one
 * instance looks at a time. Answers whether it disabled anything.
 */
export async function checkLiveDrift(deps: CanaryDeps): Promise<boolean> {
  if (!deps.liveDrift) return false;
  const outcome = await deps.lock.withLock(async () => {
    const now = deps.clock();
    const signal = await deps.liveDrift!(now);
    if (!signal) return false;
    const events = await applyDriftSignals(deps.store, [signal], deps.policy, {
      at: now,
      commandId: `live-drift:${now.toISOString()}`,
    });
    return events.length > 0;
  });
  return outcome?.value ?? false;
}
