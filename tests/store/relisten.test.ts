// A LISTEN connection that ends (a PostgreSQL restart, here its backend terminated) is opened
// again: notifications from other processes keep arriving, and the listener is woken once it is
// back, for what was announced meanwhile.
import { expect, it } from 'vitest';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { databaseUrl, postgresReachable } from '../support/postgres.ts';

it.runIf(await postgresReachable())('listens again after its connection was terminated', async () => {
  const listener = createPostgresClient({ connectionString: databaseUrl });
  const other = createPostgresClient({ connectionString: databaseUrl });
  const channel = `aos_relisten_${process.pid}`;
  let woken = 0;
  const unlisten = await listener.listen(channel, () => woken++);
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(condition()).toBe(true);
  };
  try {
    other.notify(channel);
    await until(() => woken > 0);
    await other.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`, [
      `LISTEN "${channel}"`,
    ]);
    // Back within a second or so: woken once for what may have been missed, then by notifications.
    await until(() => woken > 1);
    const before = woken;
    await new Promise((r) => setTimeout(r, 100));
    other.notify(channel);
    await until(() => woken > before);
  } finally {
    await unlisten();
    await listener.close();
    await other.close();
  }
});
