// A PostgreSQL cluster of the test's own (initdb in a temp dir, its own port), so a
// scenario can stop and restart the database without touching the machine's cluster.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/free-port.ts';

function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort();
  const dir = `/usr/lib/postgresql/${versions.at(-1)}/bin`;
  if (!existsSync(`${dir}/initdb`)) throw new Error(`no initdb in ${dir}`);
  return dir;
}

function asPostgres(command: string, args: string[]): string {
  // Running as root: PostgreSQL refuses to run as root, so use the postgres account.
  const line = [command, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', line], { encoding: 'utf8', stdio: 'pipe' });
}

export interface PrivateCluster {
  url: string;
  start(): void;
  /** Stops the server; `immediate` is a crash-like stop (no checkpoint). */
  stop(mode?: 'fast' | 'immediate'): void;
  destroy(): void;
}

export async function privateCluster(): Promise<PrivateCluster> {
  const port = await freePort();
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'aos-pg-'));
  execFileSync('chown', ['postgres', dir]);
  const data = join(dir, 'data');
  asPostgres(`${bin}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const pgCtl = (...args: string[]) => asPostgres(`${bin}/pg_ctl`, ['-D', data, ...args]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start() {
      const log = join(dir, 'log');
      try {
        pgCtl('-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-l', log, '-w', 'start');
      } catch (error) {
        // pg_ctl only says "examine the log": put the log in the failure.
        const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '(no log)';
        throw new Error(`${(error as Error).message}\nserver log:\n${tail}`);
      }
    },
    stop(mode = 'fast') {
      pgCtl('-m', mode, '-w', 'stop');
    },
    destroy() {
      try {
        pgCtl('-m', 'immediate', '-w', 'stop');
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
