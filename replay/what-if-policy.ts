// What-if policy: every recorded decision re-evaluated under another policy on the input it
// was made on (PolicyDecided records it whole). A flip is a decision whose result changes;
// flips are counted per transition (allow → deny, …) and per recorded rule → what-if rule.
// Only decisions that were made can be re-evaluated: a step a recorded denial never let run
// has no decision to flip.
import type { RunEventData } from '../domain/events/run-events.ts';
import { evaluatePolicy, type HashedPolicy, type PolicyResult } from '../domain/policy.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { projectedEvent } from '../projections/projection.ts';

export interface RuleFlip {
  recordedRule: string;
  whatIfRule: string;
  from: PolicyResult;
  to: PolicyResult;
  count: number;
}

export interface DecisionFlip {
  decisionId: string;
  runId: string;
  stepIndex: number;
  attempt: number;
  at: string;
  from: PolicyResult;
  to: PolicyResult;
  recordedRule: string;
  whatIfRule: string;
  whatIfReason: string;
}

export interface PolicyWhatIfReport {
  policyVersion: string;
  policyHash: string;
  decisions: number;
  flips: number;
  /** "allow→deny": count, for every transition that occurred. */
  byTransition: Record<string, number>;
  byRule: RuleFlip[];
  /** Flips per UTC day. */
  byDay: { day: string; decisions: number; flips: number }[];
  /** Every flipped decision, in commit order. */
  flipped: DecisionFlip[];
}

export class PolicyWhatIf {
  #decisions = 0;
  readonly #flipped: DecisionFlip[] = [];
  readonly #days = new Map<string, { decisions: number; flips: number }>();

  constructor(readonly policy: HashedPolicy) {}

  add(recorded: RecordedEvent): void {
    if (recorded.type !== 'PolicyDecided') return;
    const decided = projectedEvent(recorded).data as RunEventData<'PolicyDecided'>;
    const whatIf = evaluatePolicy(this.policy, decided.input);
    this.#decisions++;
    const day = decided.at.slice(0, 10);
    const counts = this.#days.get(day) ?? { decisions: 0, flips: 0 };
    counts.decisions++;
    this.#days.set(day, counts);
    if (whatIf.result === decided.result) return;
    counts.flips++;
    this.#flipped.push({
      decisionId: decided.decisionId,
      runId: decided.runId,
      stepIndex: decided.stepIndex,
      attempt: decided.attempt,
      at: decided.at,
      from: decided.result,
      to: whatIf.result,
      recordedRule: decided.ruleId,
      whatIfRule: whatIf.ruleId,
      whatIfReason: whatIf.reason,
    });
  }

  report(): PolicyWhatIfReport {
    const byTransition: Record<string, number> = {};
    const byRule = new Map<string, RuleFlip>();
    for (const flip of this.#flipped) {
      const transition = `${flip.from}→${flip.to}`;
      byTransition[transition] = (byTransition[transition] ?? 0) + 1;
      const key = `${flip.recordedRule}\u0000${flip.whatIfRule}\u0000${transition}`;
      const rule = byRule.get(key);
      if (rule) rule.count++;
      else
        byRule.set(key, {
          recordedRule: flip.recordedRule,
          whatIfRule: flip.whatIfRule,
          from: flip.from,
          to: flip.to,
          count: 1,
        });
    }
    return {
      policyVersion: this.policy.version,
      policyHash: this.policy.hash,
      decisions: this.#decisions,
      flips: this.#flipped.length,
      byTransition,
      byRule: [...byRule.values()].sort(
        (a, b) => b.count - a.count || a.recordedRule.localeCompare(b.recordedRule),
      ),
      byDay: [...this.#days.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([day, c]) => ({ day, ...c })),
      flipped: this.#flipped,
    };
  }
}
