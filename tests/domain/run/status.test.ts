import { describe, expect, it } from 'vitest';
import { statusAfter } from '../../../domain/run/status.ts';

describe('statusAfter', () => {
  it('maps events to status transitions', () => {
    expect(statusAfter(undefined, { type: 'RunSubmitted', data: {} })).toBe('queued');
    expect(statusAfter('queued', { type: 'RunEstimated', data: {} })).toBe('queued');
    expect(statusAfter('queued', { type: 'PolicyDecided', data: {} })).toBe('running');
    expect(statusAfter('queued', { type: 'SkillCallStarted', data: {} })).toBe('running');
    expect(statusAfter('running', { type: 'ApprovalRequested', data: {} })).toBe('waiting_approval');
    expect(statusAfter('waiting_approval', { type: 'ApprovalGranted', data: {} })).toBe('running');
    expect(statusAfter('running', { type: 'RetryScheduled', data: {} })).toBe('retrying');
    expect(statusAfter('running', { type: 'CostCharged', data: {} })).toBe('running');
    expect(statusAfter('running', { type: 'RunCompleted', data: { status: 'timed_out' } })).toBe('timed_out');
  });

  it('never leaves a final status', () => {
    expect(statusAfter('cancelled', { type: 'PolicyDecided', data: {} })).toBe('cancelled');
    expect(statusAfter('succeeded', { type: 'RunCompleted', data: { status: 'failed' } })).toBe('succeeded');
  });
});
