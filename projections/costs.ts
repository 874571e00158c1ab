// costs: what was charged, by tenant, UTC day, skill and model. A planned goal's planner call
// (PlanProposed.charge) counts as skill `planner`, under its model.
import type { PlanCharge } from '../domain/events/agent-events.ts';
import type { ProjectedEvent, Projection, RowChange } from './projection.ts';
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

/** The skill a planner's call is counted under. */
export const PLANNER_SKILL = 'planner';

function costRow(event: ProjectedEvent, skill: string, charge: Charged | PlanCharge): RowChange {
  return {
    table: 'rm_costs',
    kind: 'increment',
    key: {
      tenant_id: event.metadata.tenantId,
      day: charge.at.slice(0, 10),
      skill,
      model: charge.usage?.model ?? 'none',
    },
    values: {
      charges: 1,
      charged_micros: charge.chargedMicros,
      computed_micros: charge.computedMicros,
      provider_micros: 'providerMicros' in charge ? (charge.providerMicros ?? 0) : 0,
      estimate_micros: charge.estimateMicros,
    },
  };
}

export const costsProjection: Projection<StepSkills> = {
  name: 'costs',
  // 2: planner calls (PlanProposed.charge) are costs too.
  version: 2,
  tables: [
    {
      name: 'rm_costs',
      keyColumns: ['tenant_id', 'day', 'skill', 'model'],
      columns: ['charges', 'charged_micros', 'computed_micros', 'provider_micros', 'estimate_micros'],
    },
  ],
  eventTypes: ['SkillCallStarted', 'CostCharged', 'PlanProposed'],
  keyOf: (event) => runKeyOf(event) ?? (event.type === 'PlanProposed' ? event.streamId : null),
  initialState: () => ({}),
  apply(skills, event) {
    const state = withStepSkill(skills, event);
    if (event.type === 'PlanProposed') {
      const { charge } = event.data as { charge?: PlanCharge };
      return { state, changes: charge ? [costRow(event, PLANNER_SKILL, charge)] : [] };
    }
    if (event.type !== 'CostCharged') return { state, changes: [] };
    const charge = event.data as Charged;
    return { state, changes: [costRow(event, state[charge.stepIndex] ?? 'unknown', charge)] };
  },
};
