// Row-by-row comparison of two versions of the read models (replayed and live), each row
// under a key that names it (a run id, a decision id, a cost group…). Pure.
import { jsonDiff } from '../domain/run/certify.ts';

export type KeyedRows = Map<string, unknown>;

export interface RowDifference {
  readModel: string;
  key: string;
  kind: 'only_replayed' | 'only_live' | 'differs';
  /** For `differs`: the paths that differ, `path: live ≠ replayed`. */
  diff: string[];
}

export interface ComparisonReport {
  equal: boolean;
  /** Rows compared per read model (the union of both sides' keys). */
  rows: Record<string, number>;
  differences: RowDifference[];
}

export function compareReadModels(
  live: Record<string, KeyedRows>,
  replayed: Record<string, KeyedRows>,
): ComparisonReport {
  const differences: RowDifference[] = [];
  const rows: Record<string, number> = {};
  for (const readModel of Object.keys(replayed)) {
    const left = live[readModel] ?? new Map();
    const right = replayed[readModel]!;
    const keys = [...new Set([...left.keys(), ...right.keys()])].sort();
    rows[readModel] = keys.length;
    for (const key of keys) {
      if (!left.has(key)) differences.push({ readModel, key, kind: 'only_replayed', diff: [] });
      else if (!right.has(key)) differences.push({ readModel, key, kind: 'only_live', diff: [] });
      else {
        const diff = jsonDiff(left.get(key), right.get(key));
        if (diff.length > 0) differences.push({ readModel, key, kind: 'differs', diff });
      }
    }
  }
  return { equal: differences.length === 0, rows, differences };
}
