// The run decider as one value, Emmett-style: { initialState, evolve, decide }.
import { decide } from './decide.ts';
import { evolve, initialState } from './state.ts';

export const runDecider = { initialState: () => initialState, evolve, decide };

export function runStreamId(runId: string): string {
  return `run-${runId}`;
}

export type { RunCommand } from './commands.ts';
export { decide } from './decide.ts';
export { type NextAction, nextAction } from './next-action.ts';
export { evolve, initialState, type RunState } from './state.ts';
