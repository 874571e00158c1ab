// The emergency stop, decided on one stream for every scope (a tenant, or all of them). Stop
// and resume are idempotent: stopping a scope already stopped, or resuming one that is not,
// records nothing. A tenant is stopped while its own scope or the all-tenants scope is.
import type { Actor } from '../actor.ts';
import type { Decider } from '../decider.ts';
import type { AosEventData } from '../events/catalog.ts';
import { normalizeInstant } from '../time.ts';

export const EMERGENCY_STOP_STREAM = 'emergency-stop';

export type EmergencyStopEvent =
  | { type: 'EmergencyStopped'; data: AosEventData<'EmergencyStopped'> }
  | { type: 'EmergencyResumed'; data: AosEventData<'EmergencyResumed'> };

/** A stop in force: its scope (null: every tenant), who asked for it, why and when. */
export interface StopInForce {
  tenantId: string | null;
  actor: Actor;
  reason?: string;
  at: string;
}

/** The stops in force, by scope: '*' is every tenant's. */
export interface EmergencyStopState {
  stops: Record<string, StopInForce>;
}

export interface StopCommand {
  type: 'Stop';
  tenantId: string | null;
  actor: Actor;
  reason?: string;
  now: string;
}

export interface ResumeCommand {
  type: 'Resume';
  tenantId: string | null;
  actor: Actor;
  now: string;
}

export type EmergencyStopCommand = StopCommand | ResumeCommand;

const ALL = '*';
const scopeKey = (tenantId: string | null) => tenantId ?? ALL;

function evolve(state: EmergencyStopState, event: EmergencyStopEvent): EmergencyStopState {
  const key = scopeKey(event.data.tenantId);
  if (event.type === 'EmergencyResumed') {
    const { [key]: _lifted, ...stops } = state.stops;
    return { stops };
  }
  const { tenantId, actor, reason, at } = event.data;
  const stop: StopInForce = { tenantId, actor, at };
  if (reason !== undefined) stop.reason = reason;
  return { stops: { ...state.stops, [key]: stop } };
}

function decide(command: EmergencyStopCommand, state: EmergencyStopState): EmergencyStopEvent[] {
  const at = normalizeInstant(command.now);
  const current = state.stops[scopeKey(command.tenantId)];
  const { tenantId, actor } = command;
  if (command.type === 'Stop') {
    if (current) return [];
    const data: AosEventData<'EmergencyStopped'> = { tenantId, actor, at };
    if (command.reason !== undefined) data.reason = command.reason;
    return [{ type: 'EmergencyStopped', data }];
  }
  if (!current) return [];
  return [{ type: 'EmergencyResumed', data: { tenantId, actor, stoppedAt: current.at, at } }];
}

export const emergencyStopDecider: Decider<EmergencyStopState, EmergencyStopCommand, EmergencyStopEvent> = {
  initialState: () => ({ stops: {} }),
  evolve,
  decide,
};

/** The stop that holds a tenant's runs: the all-tenants one first, else its own; none: undefined. */
export function stopHolding(state: EmergencyStopState, tenantId: string): StopInForce | undefined {
  return state.stops[ALL] ?? state.stops[tenantId];
}

/** The stops a tenant sees: every tenant's and its own (all of them for the system key: `tenantId` null). */
export function stopsVisibleTo(state: EmergencyStopState, tenantId: string | null): StopInForce[] {
  return Object.values(state.stops)
    .filter((stop) => tenantId === null || stop.tenantId === null || stop.tenantId === tenantId)
    .sort((a, b) => (a.tenantId === null ? -1 : b.tenantId === null ? 1 : a.at.localeCompare(b.at)));
}
