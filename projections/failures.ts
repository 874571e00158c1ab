// failures: failed attempts by tenant, error code and skill.
import type { Projection } from './projection.ts';
import { runKeyOf, type StepSkills, withStepSkill } from './run-steps.ts';

export const failuresProjection: Projection<StepSkills> = {
  name: 'failures',
  version: 1,
  tables: [
    {
      name: 'rm_failures',
      keyColumns: ['tenant_id', 'error_code', 'skill'],
      columns: ['failures', 'last_at'],
    },
  ],
  eventTypes: ['SkillCallStarted', 'SkillCallFailed'],
  keyOf: runKeyOf,
  initialState: () => ({}),
  apply(skills, event) {
    const state = withStepSkill(skills, event);
    if (event.type !== 'SkillCallFailed') return { state, changes: [] };
    const { stepIndex, errorCode, at } = event.data as { stepIndex: number; errorCode: string; at: string };
    return {
      state,
      changes: [
        {
          table: 'rm_failures',
          kind: 'increment',
          key: {
            tenant_id: event.metadata.tenantId,
            error_code: errorCode,
            skill: state[stepIndex] ?? 'unknown',
          },
          values: { failures: 1, last_at: at },
        },
      ],
    };
  },
};
