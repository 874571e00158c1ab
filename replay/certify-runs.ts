// `aos replay --certify`: each run's recorded observations fed back through the run decider
// (domain/run/certify.ts), and the events it produces compared with the recorded ones hash for
// hash — a reproduced event is hashed in the recorded envelope (same stream, position, id,
// metadata, time and prevHash) and must give the recorded hash. A run is certified when its
// RunCompleted arrives (its events are then dropped), or at the end for runs still open.

import { DomainError } from '../domain/domain-error.ts';
import type { RunEvent } from '../domain/events/run-events.ts';
import { jsonDiff, observationsFromEvents, replayCommands } from '../domain/run/certify.ts';
import { runIdOfStream } from '../domain/run/decider.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { eventHash } from '../domain/store/hash-chain.ts';
import { projectedEvent } from '../projections/projection.ts';

export interface Divergence {
  /** The stream position of the first event that was not reproduced. */
  streamPosition: number;
  globalPosition: string | null;
  reason: string;
  recorded: { type: string; data: unknown; hash: string } | null;
  reproduced: { type: string; data: unknown; hash: string } | null;
  /** Paths where recorded and reproduced differ, e.g. `data.chargedMicros: 120 ≠ 130`. */
  diff: string[];
}

export type RunCertificate =
  | { runId: string; streamId: string; certified: true; events: number; commands: number }
  | { runId: string; streamId: string; certified: false; events: number; divergence: Divergence };

export interface CertificationReport {
  runs: number;
  certified: number;
  failed: number;
  results: RunCertificate[];
}

function failure(
  events: readonly RecordedEvent[],
  index: number,
  reason: string,
  reproduced?: RunEvent,
  reproducedHash?: string,
): Divergence {
  const recorded = events[index];
  const base = events[0]?.streamPosition ?? 0;
  const left = recorded ? { type: recorded.type, data: projectedEvent(recorded).data } : undefined;
  const right = reproduced ? { type: reproduced.type, data: reproduced.data } : undefined;
  return {
    streamPosition: recorded?.streamPosition ?? base + index,
    globalPosition: recorded?.globalPosition ?? null,
    reason,
    recorded: recorded && left ? { ...left, hash: recorded.hash } : null,
    reproduced: right && reproducedHash ? { ...right, hash: reproducedHash } : null,
    diff: jsonDiff(left, right),
  };
}

/** Certifies one run from its recorded events (the whole stream, from position 0). */
export function certifyRecordedRun(events: readonly RecordedEvent[]): RunCertificate {
  const streamId = events[0]?.streamId ?? '';
  const runId = runIdOfStream(streamId) ?? streamId;
  const fail = (divergence: Divergence): RunCertificate => ({
    runId,
    streamId,
    certified: false,
    events: events.length,
    divergence,
  });
  if (events.length === 0 || events[0]!.streamPosition !== 0) {
    return fail(
      failure(
        events,
        0,
        `the export starts at position ${events[0]?.streamPosition}: a run is certified from its first event`,
      ),
    );
  }
  const recorded = events.map(
    (event) => ({ type: event.type, data: projectedEvent(event).data }) as RunEvent,
  );
  let reproduced: RunEvent[];
  let commands: number;
  try {
    const observed = observationsFromEvents(recorded);
    commands = observed.length;
    reproduced = replayCommands(observed);
  } catch (error) {
    const position =
      error instanceof DomainError && typeof error.details.position === 'number' ? error.details.position : 0;
    return fail(failure(events, position, (error as Error).message));
  }
  for (let index = 0; index < Math.max(events.length, reproduced.length); index++) {
    const event = events[index];
    const produced = reproduced[index];
    if (!event)
      return fail(
        failure(events, index, 'the decider produces more events than were recorded', produced, 'none'),
      );
    if (!produced)
      return fail(failure(events, index, 'the decider produces fewer events than were recorded'));
    const hash = eventHash({ ...event, type: produced.type, data: produced.data });
    if (hash !== event.hash) {
      const reason =
        jsonDiff(recorded[index], produced).length > 0
          ? `event ${event.streamPosition} is not what the decider produces`
          : `event ${event.streamPosition}'s content does not match its recorded hash (edited after recording)`;
      return fail(failure(events, index, reason, produced, hash));
    }
  }
  return { runId, streamId, certified: true, events: events.length, commands };
}

export class RunCertifier {
  readonly #open = new Map<string, RecordedEvent[]>();
  readonly #results: RunCertificate[] = [];

  add(event: RecordedEvent): void {
    if (runIdOfStream(event.streamId) === null) return;
    const events = this.#open.get(event.streamId) ?? [];
    if (events.length === 0) this.#open.set(event.streamId, events);
    events.push(event);
    if (event.type === 'RunCompleted') {
      this.#results.push(certifyRecordedRun(events));
      this.#open.delete(event.streamId);
    }
  }

  finish(): CertificationReport {
    for (const events of this.#open.values()) this.#results.push(certifyRecordedRun(events));
    this.#open.clear();
    const certified = this.#results.filter((r) => r.certified).length;
    return {
      runs: this.#results.length,
      certified,
      failed: this.#results.length - certified,
      results: this.#results,
    };
  }
}
