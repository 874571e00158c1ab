// The event catalog of AOS: every event type, its schema, and the shared registry that
// refuses an unknown type or an invalid payload before it reaches the store.
import type { z } from 'zod';
import { agentEventSchemas } from './agent-events.ts';
import { breakerEventSchemas } from './breaker-events.ts';
import { type BudgetEventType, budgetEventSchemas } from './budget-events.ts';
import { emergencyStopEventSchemas } from './emergency-stop-events.ts';
import { estimatorEventSchemas } from './estimator-events.ts';
import { referenceDataEventSchemas } from './reference-data-events.ts';
import { EventRegistry, type ValidatedEvent } from './registry.ts';
import { type RunEventType, runEventSchemas } from './run-events.ts';
import { webhookEventSchemas } from './webhook-events.ts';

/** The latest schema of every event type. All are at version 1 for now. */
export const eventSchemas = {
  ...runEventSchemas,
  ...budgetEventSchemas,
  ...referenceDataEventSchemas,
  ...agentEventSchemas,
  ...estimatorEventSchemas,
  ...breakerEventSchemas,
  ...emergencyStopEventSchemas,
  ...webhookEventSchemas,
} as const;

type EventSchemas = typeof eventSchemas;
export type AosEventType = keyof EventSchemas;
export type AosEventData<T extends AosEventType> = z.infer<EventSchemas[T]>;
export type AosEvent = { [T in AosEventType]: { type: T; data: AosEventData<T> } }[AosEventType];

export const runEventTypes = Object.keys(runEventSchemas) as RunEventType[];
export const budgetEventTypes = Object.keys(budgetEventSchemas) as BudgetEventType[];

/** A fresh registry holding the whole catalog at version 1. */
export function createEventRegistry(): EventRegistry {
  const registry = new EventRegistry();
  for (const [type, schema] of Object.entries(eventSchemas)) registry.register(type, 1, schema);
  return registry;
}

export const eventRegistry: EventRegistry = createEventRegistry();

/** Validates a new event of the catalog; throws UnknownEventTypeError or EventValidationError. */
export function validateNewEvent<T extends AosEventType>(event: {
  type: T;
  data: unknown;
}): ValidatedEvent<AosEventData<T>> & { type: T };
export function validateNewEvent(event: { type: string; data: unknown }): ValidatedEvent;
export function validateNewEvent(event: { type: string; data: unknown }): ValidatedEvent {
  return eventRegistry.validateNewEvent(event);
}

/** Recorded data of any version → the latest version's data. */
export function upcast(type: string, schemaVersion: number, data: unknown): unknown {
  return eventRegistry.upcast(type, schemaVersion, data);
}
