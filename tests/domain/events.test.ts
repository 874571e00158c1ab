import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createEventRegistry,
  eventRegistry,
  eventSchemas,
  upcast,
  validateNewEvent,
} from '../../domain/events/catalog.ts';
import { EventValidationError, UnknownEventTypeError } from '../../domain/events/registry.ts';
import { policyHash } from '../../domain/policy.ts';
import { defaultPriceTable, priceTableHash } from '../../domain/pricing.ts';

const reserved = { reservationId: 'r1', runId: 'run-1', amountMicros: 500, limitMicros: 10_000 };

describe('event catalog', () => {
  it('registers every event type of ARCHITECTURE.md (and the plan language of docs/plans.md) at version 1', () => {
    expect(Object.keys(eventSchemas).sort()).toEqual(
      [
        'RunSubmitted',
        'RunEstimated',
        'PolicyDecided',
        'ApprovalRequested',
        'ApprovalGranted',
        'ApprovalRejected',
        'ApprovalExpired',
        'ApprovalEscalated',
        'ApprovalClosed',
        'SkillCallStarted',
        'SkillCallSucceeded',
        'SkillCallFailed',
        'FailureClassified',
        'RecoverySuggested',
        'RecoveryDecided',
        'RecoveryApplied',
        'CostCharged',
        'RetryScheduled',
        'BudgetExceeded',
        'StepCompleted',
        'StepSkipped',
        'CompensationRequested',
        'StepCompensated',
        'RunCancelRequested',
        'RunPaused',
        'RunResumed',
        'ChildRunStarted',
        'ChildRunRefused',
        'ChildRunEnded',
        'ChildCancelRequested',
        'RunCompleted',
        'BudgetReserved',
        'BudgetSettled',
        'BudgetReleased',
        'PriceTableAdopted',
        'PolicyPublished',
        'FailureCatalogAdopted',
        'BreakerFailureRecorded',
        'BreakerOpened',
        'BreakerProbeStarted',
        'BreakerClosed',
        'EmergencyStopped',
        'EmergencyResumed',
        'AgentRegistered',
        'PlanRequested',
        'PlanProposed',
        'PlanAccepted',
        'PlanRejected',
        'EstimatorDatasetUploaded',
        'CanaryCompleted',
        'EstimatorDisabled',
        'EstimatorEnabled',
        'WebhookRegistered',
        'WebhookDeleted',
        'WebhookDeliveryAttempted',
        'WebhookDeadLettered',
        'WebhookRedeliveryRequested',
      ].sort(),
    );
    for (const type of eventRegistry.types()) expect(eventRegistry.latestVersion(type)).toBe(1);
  });

  it('validates a new event and stamps its schema version', () => {
    expect(validateNewEvent({ type: 'BudgetReserved', data: reserved })).toEqual({
      type: 'BudgetReserved',
      schemaVersion: 1,
      data: reserved,
    });
  });

  it('refuses an invalid payload naming the type and every failing path', () => {
    const attempt = () =>
      validateNewEvent({
        type: 'BudgetReserved',
        data: { ...reserved, amountMicros: -1, limitMicros: 1.5, extra: 1 },
      });
    expect(attempt).toThrow(EventValidationError);
    try {
      attempt();
    } catch (error) {
      const invalid = error as EventValidationError;
      expect(invalid.code).toBe('SCHEMA_VALIDATION_FAILED');
      expect(invalid.message).toMatch(/^invalid BudgetReserved v1 event: /);
      expect(invalid.issues.map((issue) => issue.path).sort()).toEqual([
        'data',
        'data.amountMicros',
        'data.limitMicros',
      ]);
      expect(invalid.message).toContain('data.amountMicros');
    }
  });

  it('refuses an unknown type with its own error', () => {
    expect(() => validateNewEvent({ type: 'RunExploded', data: {} })).toThrow(UnknownEventTypeError);
    expect(() => validateNewEvent({ type: 'RunExploded', data: {} })).toThrow(
      /unknown event type "RunExploded"/,
    );
  });

  it('checks content hashes of price tables and policies', () => {
    const adopted = {
      version: 'v1',
      hash: priceTableHash(defaultPriceTable),
      models: defaultPriceTable.models,
      effectiveFrom: '2025-01-01T00:00:00.000Z',
    };
    expect(validateNewEvent({ type: 'PriceTableAdopted', data: adopted }).data).toEqual(adopted);
    expect(() =>
      validateNewEvent({ type: 'PriceTableAdopted', data: { ...adopted, hash: '0'.repeat(64) } }),
    ).toThrow(/data.hash/);
    const rules = { denySkills: ['x'] };
    expect(
      validateNewEvent({
        type: 'PolicyPublished',
        data: { version: 'p1', hash: policyHash({ rules }), rules },
      }).schemaVersion,
    ).toBe(1);
  });

  it('upcasts version-1 data unchanged while 1 is the latest', () => {
    expect(upcast('BudgetReserved', 1, reserved)).toEqual(reserved);
  });
});

describe('schema evolution', () => {
  it('upcasts a v1 event to a registered v2', () => {
    // A test v2 of BudgetReleased that names why the hold was released.
    const registry = createEventRegistry();
    const v2 = z.strictObject({
      reservationId: z.string(),
      runId: z.string(),
      amountMicros: z.int().nonnegative(),
      model: z.string().optional(),
      why: z.enum(['unused', 'cancelled']),
    });
    registry.register('BudgetReleased', 2, v2, (v1) => ({ ...(v1 as object), why: 'unused' }));

    const old = { reservationId: 'r1', runId: 'run-1', amountMicros: 5 };
    expect(registry.latestVersion('BudgetReleased')).toBe(2);
    expect(registry.upcast('BudgetReleased', 1, old)).toEqual({ ...old, why: 'unused' });
    expect(registry.upcast('BudgetReleased', 2, { ...old, why: 'cancelled' })).toEqual({
      ...old,
      why: 'cancelled',
    });
    // New events are written at the latest version.
    expect(
      registry.validateNewEvent({ type: 'BudgetReleased', data: { ...old, why: 'cancelled' } }).schemaVersion,
    ).toBe(2);
    expect(() => registry.validateNewEvent({ type: 'BudgetReleased', data: old })).toThrow(/data.why/);
    // The shared catalog is untouched.
    expect(eventRegistry.latestVersion('BudgetReleased')).toBe(1);
    expect(() => registry.upcast('BudgetReleased', 3, old)).toThrow(/no schema version 3/);
  });

  it('refuses a v2 without an upcaster, or versions out of order', () => {
    const registry = createEventRegistry();
    expect(() => registry.register('BudgetReleased', 2, z.object({}))).toThrow(/upcaster/);
    expect(() => registry.register('BudgetReleased', 3, z.object({}), (x) => x)).toThrow(
      /expected to register version 2/,
    );
  });
});
