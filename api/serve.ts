// `aos serve` / `npm start`: the whole application, shut down cleanly on a signal (or an
// uncaught error) within AOS_SHUTDOWN_TIMEOUT_MS: a close that hangs (a request that never
// finishes, a stuck dependency) is cut off with a log line and exit code 1.
import closeWithGrace from 'close-with-grace';
import { bootstrapBanner } from '../infra/auth/bootstrap.ts';
import type { Config } from '../infra/config.ts';
import { openApp } from './app.ts';

export async function serve(config: Config): Promise<void> {
  const app = await openApp(config);
  const log = app.server.log;
  closeWithGrace(
    {
      delay: config.AOS_SHUTDOWN_TIMEOUT_MS,
      logger: { error: (error: unknown) => log.error({ err: error }, 'unclean shutdown') },
      onTimeout: (timeoutMs) => log.error({ timeoutMs }, 'shutdown did not finish in time; exiting'),
    },
    async ({ signal, err }) => {
      if (err) log.error({ err }, 'uncaught error; shutting down');
      else log.info({ signal }, 'shutting down');
      await app.close();
    },
  );
  const banner = bootstrapBanner(app.bootstrap);
  // The generated key is shown once, on the terminal, never in the structured log.
  if (banner) process.stdout.write(`${banner}\n`);
  await app.server.listen({ host: config.AOS_HOST, port: config.AOS_PORT });
  log.info({ store: config.AOS_STORE, dataDir: config.AOS_DATA_DIR }, 'AOS is serving');
}
