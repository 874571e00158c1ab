// Child process for the crash test: appends to a PGlite store forever, printing each ack.
import { openEventStore } from '../../infra/store/open-event-store.ts';
import { events } from './events.ts';

const dataDir = process.argv[2]!;
const store = await openEventStore({
  AOS_STORE: 'pglite',
  AOS_DATA_DIR: dataDir,
  DATABASE_URL: undefined,
  AOS_MAX_EVENT_BYTES: 1_048_576,
});
for (let n = 0; ; n++) {
  await store.append('crash-1', events(2), { expectedVersion: n === 0 ? 'no_stream' : 2 * n - 1 });
  process.stdout.write(`acked ${n}\n`);
}
