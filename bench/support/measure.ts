// Paired measurement: every repetition runs the subject and its anchors back to back
// (in rotating order, so drift on a shared machine hits all of them alike), and the
// ratio is taken per repetition before the median.
import { performance } from 'node:perf_hooks';
import { median } from './report.ts';

/**
 * One timed run; resolves to the number of units (events) it processed. `run` is unique
 * across the process, for fresh stream ids. A workload that times itself (a load generator
 * in another process, whose start-up must not count) resolves to its units and seconds.
 */
export type Workload = (run: number) => Promise<number | { units: number; seconds: number }>;

export interface Contender {
  label: string;
  run: Workload;
  /** Runs before each timed run, untimed (fresh tables, fresh streams). */
  prepare?: (run: number) => Promise<void>;
}

export interface PairedOptions {
  repetitions: number;
  /** Untimed runs of every contender before the first repetition. */
  warmups?: number;
  log?: (line: string) => void;
}

export interface PairedResult {
  /** Units per second of each contender, one entry per repetition. */
  rates: Record<string, number[]>;
  median: Record<string, number>;
  /** Median over repetitions of rate(subject) / rate(label). */
  ratioTo(label: string, subject?: string): number[];
}

let runs = 0;

async function timed(c: Contender): Promise<number> {
  const current = runs++;
  await c.prepare?.(current);
  const start = performance.now();
  const done = await c.run(current);
  if (typeof done !== 'number') return done.units / done.seconds;
  return done / ((performance.now() - start) / 1000);
}

/** Measures contenders[0] (the subject) against the others. */
export async function paired(contenders: Contender[], options: PairedOptions): Promise<PairedResult> {
  for (let w = 0; w < (options.warmups ?? 1); w++) {
    for (const c of contenders) await timed(c);
  }
  const rates: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.label, []]));
  for (let r = 0; r < options.repetitions; r++) {
    const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]!);
    for (const c of order) rates[c.label]!.push(await timed(c));
    options.log?.(
      `    rep ${r + 1}/${options.repetitions}: ${contenders
        .map((c) => `${c.label} ${Math.round(rates[c.label]!.at(-1)!)}/s`)
        .join(', ')}`,
    );
  }
  const subject = contenders[0]!.label;
  return {
    rates,
    median: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v)])),
    ratioTo: (label, of = subject) => rates[of]!.map((v, i) => v / rates[label]![i]!),
  };
}

/** Runs `clients` loops concurrently; each gets its index. Resolves to the sum of their units. */
export async function concurrently(clients: number, loop: (client: number) => Promise<number>) {
  const done = await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
  return done.reduce((a, b) => a + b, 0);
}
