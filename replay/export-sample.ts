// Synthetic recorded events with a real hash chain, for tests and benchmarks of export and
// verify: `streams` streams interleaved in global order, `perStream` events each.
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { eventHash, GENESIS_HASH } from '../domain/store/hash-chain.ts';

export function* sampleEvents(streams: number, perStream: number): Generator<RecordedEvent> {
  const heads = Array.from({ length: streams }, () => GENESIS_HASH);
  let global = 0;
  for (let position = 0; position < perStream; position++) {
    for (let s = 0; s < streams; s++) {
      const content = {
        eventId: `00000000-0000-4000-8000-${String(global).padStart(12, '0')}`,
        streamId: `run-${s}`,
        streamPosition: position,
        type: position === 0 ? 'RunSubmitted' : 'StepCompleted',
        schemaVersion: 1,
        data: {
          step: position,
          note: `stream ${s} event ${position}`,
          amountMicros: position * 1000,
          output: { tokens: { input: 120 + position, output: 40 }, model: 'stub', ok: true },
        },
        metadata: { tenantId: 'acme', correlationId: `c-${s}`, actor: 'executor' },
        recordedAt: new Date(Date.UTC(2025, 0, 1) + global * 1000).toISOString(),
        prevHash: heads[s]!,
      };
      const hash = eventHash(content);
      heads[s] = hash;
      yield { ...content, globalPosition: String(++global), hash };
    }
  }
}
