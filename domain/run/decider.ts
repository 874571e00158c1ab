// The run decider as one value, Emmett-style: { initialState, evolve, decide }.
import type { Decider } from '../decider.ts';
import type { RunEvent } from '../events/run-events.ts';
import type { RunCommand } from './commands.ts';
import { decide } from './decide.ts';
import { evolve, initialState, type RunState } from './state.ts';

export const runDecider: Decider<RunState, RunCommand, RunEvent> = {
  initialState: () => initialState,
  evolve,
  decide,
};

export function runStreamId(runId: string): string {
  return `run-${runId}`;
}

/** The run whose stream this is; null for any other stream. */
export function runIdOfStream(streamId: string): string | null {
  return streamId.startsWith('run-') ? streamId.slice('run-'.length) : null;
}

export type { RunCommand } from './commands.ts';
export { decide } from './decide.ts';
export { type NextAction, nextAction } from './next-action.ts';
export { evolve, initialState, type RunState } from './state.ts';
