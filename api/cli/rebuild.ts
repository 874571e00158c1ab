// `aos rebuild [name]`: asks the server to rebuild projections and shows their progress.
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { serverClient } from './server-client.ts';

export function rebuildCommand(program: Command): void {
  program
    .command('rebuild [name]')
    .description('rebuild one projection (or all) from the first event; needs the system key')
    .action(async (name?: string) => {
      const server = serverClient();
      const { items } = await server.listProjections();
      const names = name ? [name] : items.map((item) => item.name);
      for (const projection of names) {
        await server.rebuildProjection({ params: { name: projection } });
      }
      const bar = new SingleBar({
        format: 'rebuilding [{bar}] {percentage}% | {value}/{total} positions | {names}',
      });
      let total = 0;
      for (;;) {
        const now = (await server.listProjections()).items.filter((s) => names.includes(s.name));
        const behind = Math.max(0, ...now.map((s) => s.behindEvents));
        if (total === 0) {
          total = Math.max(behind, 1);
          bar.start(total, 0, { names: names.join(', ') });
        }
        bar.update(total - Math.min(behind, total), { names: names.join(', ') });
        if (behind === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      bar.stop();
      console.log(`rebuilt ${names.join(', ')}`);
    });
}
