// Cost divergence statistics: how far one cost figure drifts from another, per sample and
// over a set of samples. Two sources feed it (projections/divergence-samples.ts): estimator
// v1 vs v2 at submission (`estimators`) and the estimate vs the charged cost, one sample per
// run that cost anything (`actual`). The formulas are the original
// AOS CostSim ones (issue 4, item 3), with its zero-baseline bug fixed: a zero baseline
// against a non-zero compared cost is a full-size drift, not a match.
//
// Pure: no I/O, no clock, no randomness; the same samples always give the same report,
// whatever order they arrive in.
//
// Units and precision
// - Costs are integer micro-dollars (domain/money.ts); deltas and percentiles stay integers.
// - Ratios (pct, drift_score, kl_divergence, fail_ratio, matching_rate) keep full float
//   precision in every object built here; nothing is rounded inside the math. Rounding is a
//   presentation step: `roundRatios` (projections/divergence-wire.ts, with the legacy wire shape)
//   rounds them to RATIO_DECIMALS (6) decimal places, for
//   routes that want stable, readable JSON (the original rounded to 4; 6 keeps a shown
//   drift score from looking equal to a threshold it actually crosses, in all but
//   sub-micro cases).
// - Verdicts, outliers, fail counts and the alert ratios are decided with exact integer
//   arithmetic, not by comparing floats: drift is the fraction (60·m + 40·f·a) / (100·a),
//   so `drift <= 0.05` is `60·m + 40·f·a <= 5·a`. A drift of exactly 0.05 is a match even
//   where the naive float product (0.6 × 1/12 = 0.049999999999999996) would land a hair
//   off; `driftScore` is that fraction as one correctly rounded division, so it agrees.
import { DomainError } from './domain-error.ts';
import { canonicalHash } from './hashing.ts';
import { assertMicros } from './money.ts';
import { instantMs } from './time.ts';

export type DivergenceSource = 'estimators' | 'actual';
export type DivergenceVerdict = 'match' | 'minor' | 'major' | 'mismatch';

export interface DivergenceSample {
  /** ISO-8601 instant; echoed untouched in `detailed_samples`. */
  timestamp: string;
  /** 16 lowercase hex characters (see `inputHashOf`). */
  inputHash: string;
  /** a: the reference figure (estimator v1, or the estimate). Integer micro-dollars. */
  baselineCostMicros: number;
  /** b: the figure compared with it (estimator v2, or the charged cost). Integer micro-dollars. */
  comparedCostMicros: number;
  /** Missing means feasible: a charged cost was, by definition, feasible. */
  baselineFeasible?: boolean;
  comparedFeasible?: boolean;
  // Grouping fields a caller may carry; never read here except by the key functions.
  tenantId?: string;
  skill?: string;
  model?: string;
  runId?: string;
  stepIndex?: number;
}

export interface SampleScore {
  /** b − a, signed, micro-dollars. */
  costDelta: number;
  /** |b − a| / max(a, 1) when a > 0; 1 if a = 0 < b; 0 if a = b = 0. Not capped. */
  pct: number;
  /** 0.6 × min(pct, 1) + 0.4 × (feasibility differs ? 1 : 0), in [0, 1]. */
  driftScore: number;
  verdict: DivergenceVerdict;
}

export interface DetailedSample {
  timestamp: string;
  input_hash: string;
  /** micro-dollars */
  baseline_cost: number;
  /** micro-dollars */
  compared_cost: number;
  /** compared − baseline, micro-dollars */
  cost_delta: number;
  drift_score: number;
  verdict: DivergenceVerdict;
}

export interface DivergenceReport {
  start_date: string;
  end_date: string;
  source: DivergenceSource;
  sample_count: number;
  /** micro-dollars (an absolute delta, integer) */
  delta_p50: number;
  /** micro-dollars (an absolute delta, integer) */
  delta_p90: number;
  kl_divergence: number;
  outlier_count: number;
  fail_ratio: number;
  matching_rate: number;
  drift_alert: boolean;
  /** At most MAX_DETAILED_SAMPLES, newest first. */
  detailed_samples: DetailedSample[];
}

export interface ReportWindow {
  /** Echoed as given; the caller selects the samples that fall in the window. */
  startDate: string;
  endDate: string;
  source: DivergenceSource;
}

export interface DivergenceGroup {
  key: string;
  report: DivergenceReport;
}

/**
 * Every threshold of the report, written once, in hundredths, so each comparison is exact
 * integer arithmetic: drift <= match is a match, <= minor minor, <= major major, above that a
 * mismatch; a sample above `outlier` is an outlier, above `fail` it counts toward fail_ratio.
 * drift_alert: KL above alertKl, or outliers / n above alertOutlierShare, or (major +
 * mismatch) / n above alertMajorShare — and only from DriftRules.minSamples samples on.
 */
export const DIVERGENCE_THRESHOLDS = {
  match: 5,
  minor: 15,
  major: 30,
  outlier: 50,
  fail: 20,
  alertKl: 20,
  alertOutlierShare: 5,
  alertMajorShare: 10,
} as const;
const T = DIVERGENCE_THRESHOLDS;
export const KL_BINS = 10;
export const KL_EPSILON = 1e-10;
export const MAX_DETAILED_SAMPLES = 100;

/** When a set of samples may raise drift_alert at all. */
export interface DriftRules {
  /**
   * Fewer samples never alert: one sample against one estimate is a histogram of one bar
   * each, so any difference gives a KL of ~23 (ln 1e10) and would alert on the first run.
   * AOS_DRIFT_MIN_SAMPLES sets it for the server.
   */
  minSamples: number;
}
export const DEFAULT_DRIFT_RULES: DriftRules = { minSamples: 20 };

const inputHashPattern = /^[0-9a-f]{16}$/;

/** First 16 hex characters of sha256 over the RFC 8785 canonical JSON of `value`. */
export function inputHashOf(value: unknown): string {
  return canonicalHash(value).slice(0, 16);
}

// ---------------------------------------------------------------------------------------
// One sample

/**
 * drift × 100 as an exact fraction: numerator 60·m + 40·f·den over den, where
 * m / den = min(pct, 1) — m = min(|b − a|, a), den = a when a > 0; m = (b > 0 ? 1 : 0),
 * den = 1 when a = 0 — and f is 1 when feasibility differs. Plain numbers while 100·den is a
 * safe integer (a below ~$90M), bigint beyond, so every comparison is exact.
 */
type DriftFraction = { numerator: number; denominator: number } | { numerator: bigint; denominator: bigint };

interface Scored {
  sample: DivergenceSample;
  score: SampleScore;
  drift: DriftFraction;
}

function driftFraction(a: number, b: number, feasibilityDiffers: boolean): DriftFraction {
  const f = feasibilityDiffers ? 1 : 0;
  const den = a > 0 ? a : 1;
  const m = a > 0 ? Math.min(Math.abs(b - a), a) : b > 0 ? 1 : 0;
  if (Number.isSafeInteger(100 * den)) return { numerator: 60 * m + 40 * f * den, denominator: den };
  const bigDen = BigInt(den);
  return { numerator: 60n * BigInt(m) + 40n * BigInt(f) * bigDen, denominator: bigDen };
}

/** drift > hundredths / 100, exactly. */
function driftAbove(drift: DriftFraction, hundredths: number): boolean {
  if (typeof drift.numerator === 'number') {
    return drift.numerator > hundredths * (drift.denominator as number);
  }
  return drift.numerator > BigInt(hundredths) * (drift.denominator as bigint);
}

function driftValue(drift: DriftFraction): number {
  if (typeof drift.numerator === 'number') {
    // One division of two exact integers: the correctly rounded value of the fraction.
    return drift.numerator / (100 * (drift.denominator as number));
  }
  return Number(drift.numerator) / (100 * Number(drift.denominator));
}

function verdictOf(drift: DriftFraction): DivergenceVerdict {
  if (!driftAbove(drift, T.match)) return 'match';
  if (!driftAbove(drift, T.minor)) return 'minor';
  if (!driftAbove(drift, T.major)) return 'major';
  return 'mismatch';
}

function scoreInternal(sample: DivergenceSample): Scored {
  const a = assertMicros(sample.baselineCostMicros, 'baselineCostMicros');
  const b = assertMicros(sample.comparedCostMicros, 'comparedCostMicros');
  const feasibilityDiffers = (sample.baselineFeasible ?? true) !== (sample.comparedFeasible ?? true);
  const drift = driftFraction(a, b, feasibilityDiffers);
  const pct = a > 0 ? Math.abs(b - a) / Math.max(a, 1) : b > 0 ? 1 : 0;
  return {
    sample,
    drift,
    score: { costDelta: b - a, pct, driftScore: driftValue(drift), verdict: verdictOf(drift) },
  };
}

/**
 * Scores one sample. Throws a DomainError (INVALID_INPUT) unless both costs are
 * non-negative safe integers of micro-dollars.
 */
export function scoreSample(sample: DivergenceSample): SampleScore {
  return scoreInternal(sample).score;
}

// ---------------------------------------------------------------------------------------
// Distributions

/**
 * d[floor(n/2)] and d[floor(0.9·n)] over the sorted absolute deltas (index guarded at
 * n − 1; 0 when n = 0). floor(0.9·n) is taken as floor(9n / 10) in integers, so a float
 * product just under a whole number cannot pick the wrong element.
 */
export function deltaPercentiles(absoluteDeltas: readonly number[]): { p50: number; p90: number } {
  const n = absoluteDeltas.length;
  if (n === 0) return { p50: 0, p90: 0 };
  const d = [...absoluteDeltas].sort((x, y) => x - y);
  return {
    p50: d[Math.min(Math.floor(n / 2), n - 1)]!,
    p90: d[Math.min(Math.floor((9 * n) / 10), n - 1)]!,
  };
}

/**
 * Bin of an integer value among KL_BINS equal-width bins over [min, max] (range = max − min
 * > 0): floor(KL_BINS · (v − min) / range), the maximum clamped into the last bin. Integer
 * arithmetic, so a value on a bin edge lands in the upper bin exactly (the float quotient
 * of two safe integers is correctly rounded and cannot reach the next whole number; beyond
 * safe integers, bigint). Non-integers (not produced here) fall back to float division.
 */
function binOf(value: number, min: number, range: number): number {
  const offset = value - min;
  let index: number;
  if (Number.isSafeInteger(offset) && Number.isSafeInteger(range) && Number.isSafeInteger(KL_BINS * range)) {
    index = Math.floor((KL_BINS * offset) / range);
  } else if (Number.isSafeInteger(offset) && Number.isSafeInteger(range)) {
    index = Number((BigInt(KL_BINS) * BigInt(offset)) / BigInt(range));
  } else {
    index = Math.floor(offset / (range / KL_BINS));
  }
  return Math.min(Math.max(index, 0), KL_BINS - 1);
}

/**
 * KL(P ‖ Q) of two cost samples: every value floored at 1; KL_BINS equal-width bins over
 * the combined min..max; P the normalised counts of `baseline`, Q of `compared`;
 * Σ over bins with P_i > 1e-10 of P_i · ln((P_i + 1e-10) / (Q_i + 1e-10)), clamped at >= 0.
 * 0 when either set is empty or all values are equal. Bins are summed in order, so the
 * result is deterministic to the last bit.
 */
export function klDivergence(baseline: readonly number[], compared: readonly number[]): number {
  if (baseline.length === 0 || compared.length === 0) return 0;
  const p = baseline.map((v) => Math.max(v, 1));
  const q = compared.map((v) => Math.max(v, 1));
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of p) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  for (const v of q) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) return 0;
  const range = max - min;
  const pCounts = new Array<number>(KL_BINS).fill(0);
  const qCounts = new Array<number>(KL_BINS).fill(0);
  for (const v of p) pCounts[binOf(v, min, range)]! += 1;
  for (const v of q) qCounts[binOf(v, min, range)]! += 1;
  let kl = 0;
  for (let i = 0; i < KL_BINS; i += 1) {
    const pi = pCounts[i]! / p.length;
    const qi = qCounts[i]! / q.length;
    if (pi > KL_EPSILON) kl += pi * Math.log((pi + KL_EPSILON) / (qi + KL_EPSILON));
  }
  return Math.max(0, kl);
}

// ---------------------------------------------------------------------------------------
// Reports

function validateSample(sample: DivergenceSample, index: number): number {
  if (!inputHashPattern.test(sample.inputHash)) {
    throw new DomainError('INVALID_INPUT', 'inputHash must be 16 lowercase hex characters', {
      index,
      inputHash: sample.inputHash,
    });
  }
  return instantMs(sample.timestamp, `samples[${index}].timestamp`);
}

/**
 * Newest first; ties broken on every shown field, so the order (and so the report) does not
 * depend on the order the samples arrived in.
 */
function newestFirst(x: Timed, y: Timed): number {
  if (x.ms !== y.ms) return y.ms - x.ms;
  const byText = compareText(y.sample.timestamp, x.sample.timestamp);
  if (byText !== 0) return byText;
  const byHash = compareText(x.sample.inputHash, y.sample.inputHash);
  if (byHash !== 0) return byHash;
  if (x.sample.baselineCostMicros !== y.sample.baselineCostMicros) {
    return x.sample.baselineCostMicros - y.sample.baselineCostMicros;
  }
  if (x.sample.comparedCostMicros !== y.sample.comparedCostMicros) {
    return x.sample.comparedCostMicros - y.sample.comparedCostMicros;
  }
  if (x.score.driftScore !== y.score.driftScore) return x.score.driftScore - y.score.driftScore;
  return compareText(x.score.verdict, y.score.verdict);
}

type Timed = Scored & { ms: number };

/**
 * The first `limit` of `items` in `newestFirst` order, without sorting them all: a sorted
 * buffer of at most `limit`, where most items are rejected after one comparison with its
 * last (oldest) entry.
 */
function newestN(items: readonly Timed[], limit: number): Timed[] {
  const top: Timed[] = [];
  for (const item of items) {
    if (top.length === limit && newestFirst(item, top[limit - 1]!) >= 0) continue;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (newestFirst(top[mid]!, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    top.splice(lo, 0, item);
    if (top.length > limit) top.pop();
  }
  return top;
}

function compareText(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The divergence report over `samples` (all of them: the caller selects the window, whose
 * bounds are echoed as given). Throws a DomainError (INVALID_INPUT) on a sample with a bad
 * cost, input hash or timestamp.
 */
export function divergenceReport(
  samples: readonly DivergenceSample[],
  window: ReportWindow,
  rules: DriftRules = DEFAULT_DRIFT_RULES,
): DivergenceReport {
  const scored = samples.map((sample, index): Timed => {
    const ms = validateSample(sample, index);
    const { score, drift } = scoreInternal(sample);
    return { sample, score, drift, ms };
  });
  const n = scored.length;

  const { p50, p90 } = deltaPercentiles(scored.map((s) => Math.abs(s.score.costDelta)));
  const kl = klDivergence(
    samples.map((s) => s.baselineCostMicros),
    samples.map((s) => s.comparedCostMicros),
  );

  let outliers = 0;
  let fails = 0;
  let matches = 0;
  let majorOrWorse = 0;
  for (const s of scored) {
    if (driftAbove(s.drift, T.outlier)) outliers += 1;
    if (driftAbove(s.drift, T.fail)) fails += 1;
    if (s.score.verdict === 'match') matches += 1;
    if (s.score.verdict === 'major' || s.score.verdict === 'mismatch') majorOrWorse += 1;
  }

  // share / n > h / 100  ⇔  100 · share > h · n, in integers.
  const driftAlert =
    n >= rules.minSamples &&
    (kl > T.alertKl / 100 ||
      100 * outliers > T.alertOutlierShare * n ||
      100 * majorOrWorse > T.alertMajorShare * n);

  const detailed = newestN(scored, MAX_DETAILED_SAMPLES).map(
    (s): DetailedSample => ({
      timestamp: s.sample.timestamp,
      input_hash: s.sample.inputHash,
      baseline_cost: s.sample.baselineCostMicros,
      compared_cost: s.sample.comparedCostMicros,
      cost_delta: s.score.costDelta,
      drift_score: s.score.driftScore,
      verdict: s.score.verdict,
    }),
  );

  return {
    start_date: window.startDate,
    end_date: window.endDate,
    source: window.source,
    sample_count: n,
    delta_p50: p50,
    delta_p90: p90,
    kl_divergence: kl,
    outlier_count: outliers,
    fail_ratio: n === 0 ? 0 : fails / n,
    matching_rate: n === 0 ? 0 : matches / n,
    drift_alert: driftAlert,
    detailed_samples: detailed,
  };
}

// ---------------------------------------------------------------------------------------
// Aggregates

/**
 * One report per group, sorted by key (code-unit order). `keyFn` returning undefined leaves
 * the sample out (a sample without a skill is in no per-skill group). `window` may depend
 * on the key, e.g. a period's own bounds when grouping by day.
 */
export function aggregateBy<S extends DivergenceSample>(
  samples: readonly S[],
  keyFn: (sample: S) => string | undefined,
  window: ReportWindow | ((key: string) => ReportWindow),
  rules: DriftRules = DEFAULT_DRIFT_RULES,
): DivergenceGroup[] {
  const groups = new Map<string, S[]>();
  for (const sample of samples) {
    const key = keyFn(sample);
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group) group.push(sample);
    else groups.set(key, [sample]);
  }
  return [...groups.keys()].sort(compareText).map((key) => ({
    key,
    report: divergenceReport(groups.get(key)!, typeof window === 'function' ? window(key) : window, rules),
  }));
}

/** Ready-made keys for the aggregates: per tenant, skill, model, and UTC day / month. */
export const divergenceKeys = {
  tenant: (sample: DivergenceSample): string | undefined => sample.tenantId,
  skill: (sample: DivergenceSample): string | undefined => sample.skill,
  model: (sample: DivergenceSample): string | undefined => sample.model,
  run: (sample: DivergenceSample): string | undefined => sample.runId,
  /** 'YYYY-MM-DD' of the sample's instant in UTC. */
  day: (sample: DivergenceSample): string =>
    new Date(instantMs(sample.timestamp, 'timestamp')).toISOString().slice(0, 10),
  /** 'YYYY-MM' of the sample's instant in UTC. */
  month: (sample: DivergenceSample): string =>
    new Date(instantMs(sample.timestamp, 'timestamp')).toISOString().slice(0, 7),
} as const;
