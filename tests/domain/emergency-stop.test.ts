// The emergency stop decider: stop and resume per scope (a tenant, or every tenant), both
// idempotent; a tenant is held while its own stop or the all-tenants one is in force.
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../domain/actor.ts';
import {
  type EmergencyStopCommand,
  type EmergencyStopEvent,
  emergencyStopDecider,
  stopHolding,
  stopsVisibleTo,
} from '../../domain/emergency-stop/decider.ts';
import { deciderSpec } from './spec.ts';

const spec = deciderSpec(emergencyStopDecider);
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const system: Actor = { id: 'sys', role: 'system' };
const admin: Actor = { id: 'adm', role: 'admin' };
const stop = (tenantId: string | null, ms: number, actor = system): EmergencyStopCommand => ({
  type: 'Stop',
  tenantId,
  actor,
  reason: 'provider incident',
  now: at(ms),
});
const resume = (tenantId: string | null, ms: number, actor = system): EmergencyStopCommand => ({
  type: 'Resume',
  tenantId,
  actor,
  now: at(ms),
});

function history(...commands: EmergencyStopCommand[]): EmergencyStopEvent[] {
  const events: EmergencyStopEvent[] = [];
  let state = emergencyStopDecider.initialState();
  for (const command of commands) {
    for (const event of emergencyStopDecider.decide(command, state)) {
      events.push(event);
      state = emergencyStopDecider.evolve(state, event);
    }
  }
  return events;
}
const fold = (events: EmergencyStopEvent[]) =>
  events.reduce(emergencyStopDecider.evolve, emergencyStopDecider.initialState());

describe('emergency stop', () => {
  it('stops a scope once: a second stop of the same scope records nothing', () => {
    spec
      .given([])
      .when(stop('acme', 0, admin))
      .then([
        {
          type: 'EmergencyStopped',
          data: { tenantId: 'acme', actor: admin, reason: 'provider incident', at: at(0) },
        },
      ]);
    spec
      .given(history(stop('acme', 0)))
      .when(stop('acme', 5))
      .thenNothing();
    // Another scope is stopped on its own.
    spec
      .given(history(stop('acme', 0)))
      .when(stop(null, 5))
      .thenMatches([{ type: 'EmergencyStopped', data: { tenantId: null } }]);
  });

  it('resumes a stopped scope, naming when its stop was recorded; resuming a running one records nothing', () => {
    spec
      .given(history(stop('acme', 0)))
      .when(resume('acme', 10_000))
      .then([
        {
          type: 'EmergencyResumed',
          data: { tenantId: 'acme', actor: system, stoppedAt: at(0), at: at(10_000) },
        },
      ]);
    spec.given([]).when(resume('acme', 0)).thenNothing();
    spec
      .given(history(stop('acme', 0), resume('acme', 1)))
      .when(resume('acme', 2))
      .thenNothing();
    // The all-tenants scope is not lifted by a tenant's resume.
    spec
      .given(history(stop(null, 0)))
      .when(resume('acme', 1))
      .thenNothing();
  });

  it('holds a tenant while its own stop or the all-tenants stop is in force', () => {
    const tenantOnly = fold(history(stop('acme', 0)));
    expect(stopHolding(tenantOnly, 'acme')).toMatchObject({ tenantId: 'acme', at: at(0) });
    expect(stopHolding(tenantOnly, 'globex')).toBeUndefined();
    const everyone = fold(history(stop('acme', 0), stop(null, 1)));
    expect(stopHolding(everyone, 'globex')).toMatchObject({ tenantId: null });
    expect(stopHolding(fold(history(stop('acme', 0), stop(null, 1), resume(null, 2))), 'acme')).toMatchObject(
      {
        tenantId: 'acme',
      },
    );
    expect(stopHolding(fold(history(stop('acme', 0), resume('acme', 1))), 'acme')).toBeUndefined();
  });

  it('shows a tenant its own stop and the all-tenants one, the system key every stop', () => {
    const state = fold(history(stop('acme', 0), stop('globex', 1), stop(null, 2)));
    expect(stopsVisibleTo(state, 'acme').map((s) => s.tenantId)).toEqual([null, 'acme']);
    expect(stopsVisibleTo(state, null).map((s) => s.tenantId)).toEqual([null, 'acme', 'globex']);
  });
});
