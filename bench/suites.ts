// The benchmark suites. A suite is one file exporting `suite`; add it here.
import type { Figure } from './support/report.ts';

export interface SuiteContext {
  /** About a minute for the whole suite, at least 3 repetitions per figure. */
  quick: boolean;
  /** Progress lines (stderr, so that --json output stays clean). */
  log: (line: string) => void;
}

export interface Suite {
  description: string;
  run(context: SuiteContext): Promise<Figure[]>;
}

export const suites: Record<string, () => Promise<Suite>> = {
  store: async () => (await import('./store.ts')).suite,
  api: async () => (await import('./api.ts')).suite,
  executor: async () => (await import('./executor.ts')).suite,
  projections: async () => (await import('./projections.ts')).suite,
  'replay-verify': async () => (await import('./verify.ts')).suite,
  replay: async () => (await import('./replay.ts')).suite,
  kafka: async () => (await import('./kafka.ts')).suite,
};
