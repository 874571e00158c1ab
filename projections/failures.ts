// failures: failed attempts by tenant, error code and skill (how many, first and last seen), and
// what the failure catalog last said of each (rm_failure_classes: category, retry, recovery).
import type { Projection, RowChange } from './projection.ts';
import { runKeyOf, type StepSkills, withStepSkill } from './run-steps.ts';

interface Classified {
  stepIndex: number;
  errorCode: string;
  catalogVersion: string;
  entry: { id: string } | null;
  category: string;
  retry: boolean;
  recovery: unknown;
  confidence: number;
  automatic: boolean;
  at: string;
}

export const failuresProjection: Projection<StepSkills> = {
  name: 'failures',
  // 2: first seen, and the catalog's classification (issue 15).
  version: 2,
  tables: [
    {
      name: 'rm_failures',
      keyColumns: ['tenant_id', 'error_code', 'skill'],
      columns: ['failures', 'last_at', 'first_at'],
    },
    {
      name: 'rm_failure_classes',
      keyColumns: ['tenant_id', 'error_code', 'skill'],
      columns: [
        'catalog_version',
        'entry_id',
        'category',
        'retry',
        'recovery',
        'confidence',
        'automatic',
        'at',
      ],
    },
  ],
  eventTypes: ['SkillCallStarted', 'SkillCallFailed', 'FailureClassified'],
  keyOf: runKeyOf,
  initialState: () => ({}),
  apply(skills, event) {
    const state = withStepSkill(skills, event);
    const key = (data: { stepIndex: number; errorCode: string }) => ({
      tenant_id: event.metadata.tenantId,
      error_code: data.errorCode,
      skill: state[data.stepIndex] ?? 'unknown',
    });
    if (event.type === 'SkillCallFailed') {
      const data = event.data as { stepIndex: number; errorCode: string; at: string };
      const change: RowChange = {
        table: 'rm_failures',
        kind: 'increment',
        key: key(data),
        values: { failures: 1, last_at: data.at, first_at: data.at },
      };
      return { state, changes: [change] };
    }
    if (event.type === 'FailureClassified') {
      const data = event.data as Classified;
      const change: RowChange = {
        table: 'rm_failure_classes',
        // What the catalog said last: by `at`, not by arrival (runs reach a Kafka consumer in any order).
        kind: 'latest',
        key: key(data),
        values: {
          catalog_version: data.catalogVersion,
          entry_id: data.entry?.id ?? null,
          category: data.category,
          retry: data.retry,
          recovery: data.recovery,
          confidence: data.confidence,
          automatic: data.automatic,
          at: data.at,
        },
      };
      return { state, changes: [change] };
    }
    return { state, changes: [] };
  },
};
