// A call's signal (EmergencyStopGate.watchCall) follows the executor's other reasons to give a
// call up — its shutdown, the run's lease and cancel — by listeners each call removes when it
// returns: many calls out at once on one shutdown signal warn of no leak, a call that returned
// is no longer aborted by it, and one still out is, with that signal's reason.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmergencyStopGate } from '../../commands/emergency-stop.ts';
import { createMemoryEventStore } from '../../infra/store/memory-event-store.ts';

describe('watchCall', () => {
  const gate = createEmergencyStopGate(createMemoryEventStore());
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  beforeEach(() => {
    process.on('warning', onWarning);
  });
  afterEach(() => {
    gate.close();
    process.off('warning', onWarning);
  });

  it('follows the signals it is given, until the call returns', async () => {
    const shutdown = new AbortController();
    const calls = Array.from({ length: 64 }, () => gate.watchCall('acme', [shutdown.signal]));
    for (const call of calls.slice(0, 32)) call.release();
    shutdown.abort(new Error('stopping'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls.slice(0, 32).some((call) => call.signal.aborted)).toBe(false);
    expect(calls.slice(32).every((call) => (call.signal.reason as Error).message === 'stopping')).toBe(true);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('starts aborted when one of them already is', () => {
    const cancelled = AbortSignal.abort(new Error('run cancelled'));
    const call = gate.watchCall('acme', [new AbortController().signal, cancelled]);
    expect((call.signal.reason as Error).message).toBe('run cancelled');
    call.release();
  });
});
