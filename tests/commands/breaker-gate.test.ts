// Which failures a circuit breaker counts: retryable ones the target answered with, never
// failures of our own making (a cancel, an emergency stop, a lost worker, an open circuit).
import { describe, expect, it } from 'vitest';
import { countsAgainstTarget } from '../../commands/breaker-gate.ts';

describe('countsAgainstTarget', () => {
  it('counts what the target answered, not what AOS did to the call', () => {
    expect(countsAgainstTarget('HTTP_5XX')).toBe(true);
    expect(countsAgainstTarget('RATE_LIMITED')).toBe(true);
    for (const ours of ['CIRCUIT_OPEN', 'WORKER_LOST', 'CANCELLED', 'EMERGENCY_STOP', 'INTERNAL'] as const)
      expect(countsAgainstTarget(ours), ours).toBe(false);
  });
});
