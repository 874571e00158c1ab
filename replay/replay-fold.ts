// Offline replay: every event re-folded through the same projections the live runner uses
// (projections/all.ts), in memory. Pure: the caller feeds events in file (commit) order.
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { allProjections } from '../projections/all.ts';
import { type AnyProjection, projectedEvent, type RowValues } from '../projections/projection.ts';
import { MemoryTables } from './memory-tables.ts';

/** The read models `aos replay` writes, each the rows of one projection's table. */
export const readModelTables = {
  status_history: 'rm_status_history',
  divergence: 'rm_divergence_samples',
  runs: 'rm_runs',
  costs: 'rm_costs',
  policy_decisions: 'rm_policy_decisions',
  failures: 'rm_failures',
  failure_classes: 'rm_failure_classes',
  attempts: 'rm_attempts',
  run_context: 'rm_run_context',
  budget_days: 'rm_budget_days',
  approvals: 'rm_approvals',
} as const;
export type ReadModelName = keyof typeof readModelTables;
export const readModelNames = Object.keys(readModelTables) as ReadModelName[];

export type ReadModels = Record<ReadModelName, RowValues[]>;

interface Folding {
  projection: AnyProjection;
  states: Map<string, unknown>;
}

export class ReplayFold {
  readonly tables: MemoryTables;
  /** The projections that read each event type, in the order given. */
  readonly #foldingsByType = new Map<string, Folding[]>();
  #events = 0;

  constructor(projections: readonly AnyProjection[] = allProjections) {
    this.tables = new MemoryTables(projections.flatMap((p) => p.tables));
    for (const projection of projections) {
      const folding: Folding = { projection, states: new Map() };
      for (const type of new Set(projection.eventTypes)) {
        const foldings = this.#foldingsByType.get(type);
        if (foldings) foldings.push(folding);
        else this.#foldingsByType.set(type, [folding]);
      }
    }
  }

  get events(): number {
    return this.#events;
  }

  add(recorded: RecordedEvent): void {
    this.#events++;
    const foldings = this.#foldingsByType.get(recorded.type);
    if (!foldings) return;
    const event = projectedEvent(recorded);
    for (const { projection, states } of foldings) {
      const key = projection.keyOf(event);
      if (key === null) continue;
      const state = states.has(key) ? states.get(key) : projection.initialState();
      const result = projection.apply(state, event);
      states.set(key, result.state);
      for (const change of result.changes) this.tables.apply(change);
    }
  }

  readModels(): ReadModels {
    return Object.fromEntries(
      readModelNames.map((name) => [name, this.tables.rows(readModelTables[name])]),
    ) as ReadModels;
  }
}
