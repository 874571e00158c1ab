// PGlite keeps what it acknowledged when its process is killed with SIGKILL mid-stream.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openEventStore } from '../../infra/store/open-event-store.ts';
import { verifyStream } from '../../infra/store/verify-stream.ts';

it('survives kill -9: every acknowledged append is there after restart and the chain verifies', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aos-crash-'));
  try {
    const child = spawn(process.execPath, ['bin/run-ts.js', 'tests/support/append-child.ts', dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = -1;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          const match = /^acked (\d+)$/.exec(line);
          if (match) acked = Number(match[1]);
        }
        if (acked >= 40) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => (acked >= 40 ? resolve() : reject(new Error(`child exited ${code}`))));
    });
    await new Promise((resolve) => child.once('exit', resolve));

    const store = await openEventStore({
      AOS_STORE: 'pglite',
      AOS_DATA_DIR: dataDir,
      DATABASE_URL: undefined,
      AOS_MAX_EVENT_BYTES: 1_048_576,
    });
    const verdict = await verifyStream(store, 'crash-1');
    await store.close();
    expect(verdict.ok).toBe(true);
    expect(verdict.ok && verdict.count).toBeGreaterThanOrEqual(2 * (acked + 1));
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);
