// The reservations that finished attempts of a run must have closed in the tenant's day
// ledger. The executor closes each right after recording the attempt's outcome; a worker
// that died (or failed to write) in between leaves it open, and the next owner of the run
// closes them again from this. Only attempts that finished since the run last had nothing
// in flight can be left open: the owner that started the attempts after that point is the
// one that may have died, and every owner does this before anything else. For a linear
// plan that is the latest finished attempt; with parallel branches, every attempt that
// finished while other branches were still out.
import type { RunEvent } from '../events/run-events.ts';

export interface AttemptReservation {
  reservationId: string;
  /** What the attempt was charged: settle at this, or release when 0. */
  chargedMicros: number;
  /** When it was reserved: its day names the ledger stream. */
  reservedAt: string;
}

type AttemptEvent = Extract<RunEvent, { data: { stepIndex: number; attempt: number } }>;

const keyOf = (event: AttemptEvent) =>
  `${event.data.stepIndex}:${event.data.attempt}:${'compensation' in event.data && event.data.compensation ? 'c' : 's'}`;

const hasAttempt = (event: RunEvent): event is AttemptEvent =>
  'attempt' in event.data && 'stepIndex' in event.data;

export function finishedAttemptReservations(events: readonly RunEvent[]): AttemptReservation[] {
  // Where the latest busy period began: the first start after the last moment nothing was out.
  let open = 0;
  let busySince = 0;
  events.forEach((event, index) => {
    if (event.type === 'SkillCallStarted') {
      if (open === 0) busySince = index;
      open++;
    } else if (event.type === 'SkillCallSucceeded' || event.type === 'SkillCallFailed') {
      open = Math.max(0, open - 1);
    }
  });
  const starts = new Map<string, Extract<RunEvent, { type: 'SkillCallStarted' }>>();
  const charged = new Map<string, number>();
  const finished: string[] = [];
  events.forEach((event, index) => {
    if (!hasAttempt(event)) return;
    const key = keyOf(event);
    if (event.type === 'SkillCallStarted') starts.set(key, event);
    if (event.type === 'CostCharged') charged.set(key, (charged.get(key) ?? 0) + event.data.chargedMicros);
    const done = event.type === 'SkillCallSucceeded' || event.type === 'SkillCallFailed';
    if (done && index > busySince) finished.push(key);
  });
  return finished.flatMap((key) => {
    const started = starts.get(key);
    if (!started) return [];
    return [
      {
        reservationId: started.data.reservationId,
        chargedMicros: charged.get(key) ?? 0,
        reservedAt: started.data.at,
      },
    ];
  });
}
