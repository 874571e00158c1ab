// A tiny given/when/then for deciders, after Emmett's DeciderSpecification:
//   spec.given(pastEvents).when(command).then(expectedEvents)
//   spec.given(pastEvents).when(command).thenThrows('BUDGET_EXCEEDED')
// Every event a decider emits is also checked against the event catalog, so a decider can
// never produce an event the store would refuse.
import { expect } from 'vitest';
import type { Decider, DomainEvent } from '../../domain/decider.ts';
import { DomainError } from '../../domain/domain-error.ts';
import type { ErrorCode } from '../../domain/errors.ts';
import { validateNewEvent } from '../../domain/events/catalog.ts';

export interface Then<Event> {
  /** Exactly these events, in order. */
  then(expected: Event[]): Event[];
  /** Events matching these partial shapes (toMatchObject), in order and of the same count. */
  thenMatches(expected: Array<{ type: string; data?: Record<string, unknown> }>): Event[];
  thenNothing(): void;
  thenThrows(code: ErrorCode, message?: string | RegExp): DomainError;
}

function checkAgainstCatalog(events: unknown[]): void {
  for (const event of events) {
    const { type, data } = event as { type: string; data: unknown };
    expect(validateNewEvent({ type, data }).data).toEqual(data);
  }
}

export function deciderSpec<State, Command, Event extends DomainEvent>(
  decider: Decider<State, Command, Event>,
) {
  return {
    given(events: Event[]) {
      return {
        when(command: Command): Then<Event> {
          const state = events.reduce(decider.evolve, decider.initialState());
          const run = () => decider.decide(command, state);
          return {
            // biome-ignore lint/suspicious/noThenProperty: given/when/then is the point; never awaited.
            then(expected) {
              const actual = run();
              expect(actual).toEqual(expected);
              checkAgainstCatalog(actual);
              return actual;
            },
            thenMatches(expected) {
              const actual = run();
              expect(actual.map((event) => (event as { type: string }).type)).toEqual(
                expected.map((e) => e.type),
              );
              expect(actual).toMatchObject(expected);
              checkAgainstCatalog(actual);
              return actual;
            },
            thenNothing() {
              expect(run()).toEqual([]);
            },
            thenThrows(code, message) {
              let caught: unknown;
              try {
                run();
              } catch (error) {
                caught = error;
              }
              expect(caught, 'expected the command to be refused').toBeInstanceOf(DomainError);
              const error = caught as DomainError;
              expect(error.code).toBe(code);
              if (message !== undefined) expect(error.message).toMatch(message);
              return error;
            },
          };
        },
      };
    },
  };
}
