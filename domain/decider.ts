// What a decider is, after Emmett: a stream's state folded from its events (`evolve` from
// `initialState`), and the events a command adds to it (`decide`, which throws a DomainError
// to refuse). Pure. commands/handle-command.ts runs any decider against the store; the run
// (domain/run/decider.ts) and the budget ledger (domain/budget/ledger.ts) are the two today.

export interface DomainEvent {
  type: string;
  data: unknown;
}

export interface Decider<State, Command, Event extends DomainEvent> {
  initialState: () => State;
  evolve: (state: State, event: Event) => State;
  decide: (command: Command, state: State) => Event[];
}
