// DBOS Transact (`@dbos-inc/dbos-sdk`), the peer the executor is measured beside: a workflow of
// three trivial steps, as durable as DBOS makes it (a workflow row, one row per step output,
// checkpointed in PostgreSQL), in a database of its own on the bench server. DBOS is one per
// process: launched once for a suite, shut down at its end.
import { DBOS } from '@dbos-inc/dbos-sdk';
import { peerDatabaseUrl, recreateDatabase } from './postgres.ts';

const threeSteps = DBOS.registerWorkflow(
  async (n: number) => {
    const a = await DBOS.runStep(async () => n + 1, { name: 'first' });
    const b = await DBOS.runStep(async () => a * 2, { name: 'second' });
    return DBOS.runStep(async () => `done ${b}`, { name: 'third' });
  },
  { name: 'threeSteps' },
);

export interface DbosPeer {
  url: string;
  /** Starts one workflow and resolves when it has finished. */
  runOne(n: number): Promise<string>;
  shutdown(): Promise<void>;
}

/** A fresh database for DBOS (dropped and created), then DBOS launched on it. */
export async function launchDbos(poolSize: number): Promise<DbosPeer> {
  const url = await recreateDatabase(peerDatabaseUrl('dbos'));
  DBOS.setConfig({
    name: 'aos-bench',
    systemDatabaseUrl: url,
    systemDatabasePoolSize: poolSize,
    logLevel: 'error',
    runAdminServer: false,
  });
  await DBOS.launch();
  return {
    url,
    async runOne(n) {
      const handle = await DBOS.startWorkflow(threeSteps)(n);
      return handle.getResult();
    },
    shutdown: () => DBOS.shutdown(),
  };
}
