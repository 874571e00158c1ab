// Building run events. Optional fields that are absent are left out rather than set to
// undefined, so an emitted event is byte-for-byte what the store will hand back (JSON has
// no undefined) and certification can compare them exactly.
import type { RunEvent, RunEventData, RunEventType } from '../events/run-events.ts';

export function runEvent<T extends RunEventType>(type: T, data: RunEventData<T>): RunEvent {
  const compact = Object.fromEntries(Object.entries(data).filter(([, value]) => value !== undefined));
  return { type, data: compact } as RunEvent;
}
