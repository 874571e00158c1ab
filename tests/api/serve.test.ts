// `aos serve` as a user runs it: a real process on the embedded store or on PostgreSQL.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['bin/aos.js', 'serve'], {
    // KAFKA_BROKERS (set in CI) would add the publisher: these servers are about the API alone.
    env: { ...process.env, AOS_LOG_LEVEL: 'warn', KAFKA_BROKERS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** Ready on `port`, or an error with the server's output as soon as it has exited. */
async function waitReady(port: number, server: ReturnType<typeof start>) {
  let exit: number | null | undefined;
  server.exited.then((code) => (exit = code));
  // Generous: PGlite's start-up is slow on a loaded machine.
  for (let i = 0; i < 900 && exit === undefined; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (response?.status === 200) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server never became ready (exit code ${exit}): ${server.output()}`);
}

const postgresUp = await postgresReachable();

describe('aos serve', () => {
  it('runs on the embedded store, answers /healthz and /readyz, and stops cleanly on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'aos-serve-'));
    try {
      const p = await freePort();
      const server = start({ AOS_DATA_DIR: dataDir, AOS_PORT: String(p) });
      expect(await (await waitReady(p, server)).json()).toEqual({ status: 'ready' });
      expect(await (await fetch(`http://127.0.0.1:${p}/healthz`)).json()).toEqual({ status: 'ok' });
      const missing = await fetch(`http://127.0.0.1:${p}/v1/nothing`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 150_000);

  it('cuts off a close that hangs after AOS_SHUTDOWN_TIMEOUT_MS, with a log line and exit code 1', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'aos-serve-'));
    try {
      const p = await freePort();
      const server = start({
        AOS_DATA_DIR: dataDir,
        AOS_PORT: String(p),
        AOS_SHUTDOWN_TIMEOUT_MS: '1500',
        AOS_REQUEST_TIMEOUT_MS: '600000',
      });
      await waitReady(p, server);
      // A request whose body never finishes: the HTTP server's close waits for it.
      const socket = connect(p, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('POST /v1/runs HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n');
      socket.write('content-length: 1000\r\n\r\n{"agentId":');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(1);
      const took = Date.now() - signalled;
      socket.destroy();
      expect(took).toBeGreaterThanOrEqual(1500);
      // Without the deadline it would wait for the request's own 600 s timeout.
      expect(took).toBeLessThan(15_000);
      const lines = server
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'shutdown did not finish in time; exiting', timeoutMs: 1500 }),
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 150_000);

  it('refuses to start on a bad setting, naming it', async () => {
    const server = start({ AOS_PORT: 'eighty' });
    expect(await server.exited).toBe(2);
    expect(server.output()).toMatch(/AOS_PORT: must be a number \(got "eighty"\)/);
  }, 30_000);

  it.runIf(postgresUp)(
    'runs on PostgreSQL with AOS_STORE=postgres',
    async () => {
      const { schema, drop } = await createTestSchema();
      try {
        const p = await freePort();
        const url = new URL(databaseUrl);
        url.searchParams.set('options', `-c search_path=${schema}`);
        const server = start({ AOS_STORE: 'postgres', DATABASE_URL: url.toString(), AOS_PORT: String(p) });
        await waitReady(p, server);
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      } finally {
        await drop();
      }
    },
    150_000,
  );
});
