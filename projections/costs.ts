// costs: what was charged, by tenant, UTC day, skill and model.
import type { Projection } from './projection.ts';
import { runKeyOf, type StepSkills, withStepSkill } from './run-steps.ts';

interface Charged {
  stepIndex: number;
  usage?: { model: string };
  estimateMicros: number;
  computedMicros: number;
  providerMicros?: number;
  chargedMicros: number;
  at: string;
}

export const costsProjection: Projection<StepSkills> = {
  name: 'costs',
  version: 1,
  tables: [
    {
      name: 'rm_costs',
      keyColumns: ['tenant_id', 'day', 'skill', 'model'],
      columns: ['charges', 'charged_micros', 'computed_micros', 'provider_micros', 'estimate_micros'],
    },
  ],
  eventTypes: ['SkillCallStarted', 'CostCharged'],
  keyOf: runKeyOf,
  initialState: () => ({}),
  apply(skills, event) {
    const state = withStepSkill(skills, event);
    if (event.type !== 'CostCharged') return { state, changes: [] };
    const charge = event.data as Charged;
    return {
      state,
      changes: [
        {
          table: 'rm_costs',
          kind: 'increment',
          key: {
            tenant_id: event.metadata.tenantId,
            day: charge.at.slice(0, 10),
            skill: state[charge.stepIndex] ?? 'unknown',
            model: charge.usage?.model ?? 'none',
          },
          values: {
            charges: 1,
            charged_micros: charge.chargedMicros,
            computed_micros: charge.computedMicros,
            provider_micros: charge.providerMicros ?? 0,
            estimate_micros: charge.estimateMicros,
          },
        },
      ],
    };
  },
};
