// What-if prices: every recorded charge re-computed under another price table, exactly as
// the run decider computes it (domain/run/decide.ts: usage × prices rounded up once, then the
// larger of that and the provider-reported amount). Each charge becomes a divergence sample —
// baseline the recorded charge, compared the what-if charge — so the report uses the read
// model's own formulas (projections/divergence.ts).

import { type DivergenceSample, inputHashOf } from '../domain/divergence.ts';
import type { RunEventData } from '../domain/events/run-events.ts';
import { computeChargeMicros, type PriceTable } from '../domain/pricing.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { projectedEvent } from '../projections/projection.ts';
import { type StepSkills, withStepSkill } from '../projections/run-steps.ts';

export interface PriceWhatIfTotals {
  charges: number;
  recordedMicros: number;
  whatIfMicros: number;
  deltaMicros: number;
}

export class PriceWhatIf {
  readonly samples: DivergenceSample[] = [];
  readonly totals: PriceWhatIfTotals = { charges: 0, recordedMicros: 0, whatIfMicros: 0, deltaMicros: 0 };
  readonly #skills = new Map<string, StepSkills>();

  constructor(readonly table: PriceTable) {}

  add(recorded: RecordedEvent): void {
    if (recorded.type !== 'SkillCallStarted' && recorded.type !== 'CostCharged') return;
    const event = projectedEvent(recorded);
    const skills = withStepSkill(this.#skills.get(event.streamId) ?? {}, event);
    this.#skills.set(event.streamId, skills);
    if (event.type !== 'CostCharged') return;
    const charge = event.data as RunEventData<'CostCharged'>;
    const computed = charge.usage ? computeChargeMicros(charge.usage, this.table) : 0;
    const whatIf = Math.max(computed, charge.providerMicros ?? 0);
    this.totals.charges++;
    this.totals.recordedMicros += charge.chargedMicros;
    this.totals.whatIfMicros += whatIf;
    this.totals.deltaMicros += whatIf - charge.chargedMicros;
    const skill = skills[charge.stepIndex];
    this.samples.push({
      timestamp: charge.at,
      inputHash: inputHashOf({ runId: charge.runId, stepIndex: charge.stepIndex, attempt: charge.attempt }),
      baselineCostMicros: charge.chargedMicros,
      comparedCostMicros: whatIf,
      tenantId: event.metadata.tenantId,
      runId: charge.runId,
      stepIndex: charge.stepIndex,
      ...(skill !== undefined ? { skill } : {}),
      model: charge.usage?.model ?? 'none',
    });
  }
}
