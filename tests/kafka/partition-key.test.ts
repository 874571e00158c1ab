// What lands on one partition: a stream, and a tenant day's ledgers together (the budget day
// is one entity in status history, so its run ledgers must reach a consumer in store order).
import { describe, expect, it } from 'vitest';
import { budgetStreamId, runLedgerStreamId } from '../../domain/budget/ledger.ts';
import { partitionKeyOf } from '../../infra/kafka/kafka-client.ts';

describe('partition keys', () => {
  it('keys a run ledger by its day, and every other stream by itself', () => {
    const day = budgetStreamId('acme', '2026-12-02T10:00:00.000Z');
    expect(partitionKeyOf(runLedgerStreamId('acme', '2026-12-02T10:00:00.000Z', 'run-a'))).toBe(day);
    expect(partitionKeyOf(runLedgerStreamId('acme', '2026-12-02', 'run-b'))).toBe(day);
    expect(partitionKeyOf(day)).toBe(day);
    expect(partitionKeyOf(budgetStreamId('acme', '2026-12-03'))).not.toBe(day);
    expect(partitionKeyOf('run-6fe29698-f86d-4508-9112-e038c643ea9b')).toBe(
      'run-6fe29698-f86d-4508-9112-e038c643ea9b',
    );
    expect(partitionKeyOf('budget-notes')).toBe('budget-notes');
  });
});
