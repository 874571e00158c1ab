// A new in-memory PGlite database for a test, empty as initdb leaves it, started from the
// run's initialised data folder (tests/support/pglite-template.ts) rather than a new initdb.
import { readFile } from 'node:fs/promises';
import { inject } from 'vitest';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import { createPGliteClient } from '../../infra/store/pglite-client.ts';

let initialData: Promise<Blob> | undefined;

export function createTestPGliteClient(): Promise<SqlClient> {
  initialData ??= readFile(inject('pgliteInitialData')).then((bytes) => new Blob([bytes]));
  return initialData.then((data) => createPGliteClient(undefined, data));
}
