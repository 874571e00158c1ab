// Global setup (vitest.config.ts): one PGlite data folder, initialised once per test run and
// dumped to a file that every test's in-memory database starts from (tests/support/pglite.ts).
// initdb is most of what creating a PGlite costs (over a second on a loaded machine); loading
// the dump, a fraction of it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The file holding a freshly initialised PGlite data folder (dumpDataDir, uncompressed). */
    pgliteInitialData: string;
  }
}

let folder: string | undefined;

export async function setup(project: TestProject) {
  folder = await mkdtemp(join(tmpdir(), 'aos-pglite-template-'));
  const db = await PGlite.create();
  try {
    const file = join(folder, 'initdb.tar');
    await writeFile(file, Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()));
    project.provide('pgliteInitialData', file);
  } finally {
    await db.close();
  }
}

export async function teardown() {
  if (folder) await rm(folder, { recursive: true, force: true });
}
