// The reservation that the latest finished attempt of a run must have closed in the tenant's
// day ledger. The executor closes it right after recording the attempt's outcome; a worker
// that died (or failed to write) in between leaves it open, and the next owner of the run
// closes it again from this. Only the latest finished attempt can be left open: the next
// owner does this before anything else, so every earlier one was closed.
import type { RunEvent } from '../events/run-events.ts';

export interface AttemptReservation {
  reservationId: string;
  /** What the attempt was charged: settle at this, or release when 0. */
  chargedMicros: number;
  /** When it was reserved: its day names the ledger stream. */
  reservedAt: string;
}

export function latestFinishedAttemptReservation(
  events: readonly RunEvent[],
): AttemptReservation | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.type !== 'SkillCallSucceeded' && event.type !== 'SkillCallFailed') continue;
    const { stepIndex, attempt } = event.data;
    const sameAttempt = (e: RunEvent) =>
      'stepIndex' in e.data &&
      e.data.stepIndex === stepIndex &&
      'attempt' in e.data &&
      e.data.attempt === attempt;
    const started = events.find((e) => e.type === 'SkillCallStarted' && sameAttempt(e));
    if (started?.type !== 'SkillCallStarted') return undefined;
    const chargedMicros = events
      .filter((e) => e.type === 'CostCharged' && sameAttempt(e))
      .reduce((sum, e) => sum + (e.type === 'CostCharged' ? e.data.chargedMicros : 0), 0);
    return { reservationId: started.data.reservationId, chargedMicros, reservedAt: started.data.at };
  }
  return undefined;
}
