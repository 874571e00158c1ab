// `aos serve` / `npm start`: the whole application, shut down cleanly on SIGTERM/SIGINT.
import { bootstrapBanner } from '../infra/auth/bootstrap.ts';
import type { Config } from '../infra/config.ts';
import { openApp } from './app.ts';

export async function serve(config: Config): Promise<void> {
  const app = await openApp(config);
  const log = app.server.log;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    try {
      await app.close();
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  const banner = bootstrapBanner(app.bootstrap);
  // The generated key is shown once, on the terminal, never in the structured log.
  if (banner) process.stdout.write(`${banner}\n`);
  await app.server.listen({ host: config.AOS_HOST, port: config.AOS_PORT });
  log.info({ store: config.AOS_STORE, dataDir: config.AOS_DATA_DIR }, 'AOS is serving');
}
