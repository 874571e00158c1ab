#!/usr/bin/env node
// CI's check of the compiled server (`.ci/run`): starts dist/ on a fresh embedded store,
// waits for /readyz, takes the bootstrap key from the data dir, submits one run (README's
// "A first run"), waits for it to succeed, and stops the server with SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = mkdtempSync(join(tmpdir(), 'aos-smoke-'));
const port = 20_000 + Math.floor(Math.random() * 20_000);
const base = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const server = spawn(process.execPath, [join(root, 'dist/api/cli.js'), 'serve'], {
  // KAFKA_BROKERS would add the publisher: this checks the API and the executor alone.
  env: {
    ...process.env,
    AOS_DATA_DIR: dataDir,
    AOS_PORT: String(port),
    AOS_LOG_LEVEL: 'warn',
    KAFKA_BROKERS: '',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let exitedWith;
const exited = new Promise((resolve) =>
  server.on('exit', (code, signal) => {
    exitedWith = code ?? signal;
    resolve(exitedWith);
  }),
);

async function call(method, path, key, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

// Generous: an embedded store starts slowly on a loaded CI machine.
async function until(what, check, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // A server that died is not slow: say so at once rather than after the timeout.
    if (exitedWith !== undefined)
      throw new Error(`the built server exited with ${exitedWith} before it ${what}`);
    const value = await check().catch(() => undefined);
    if (value) return value;
    await sleep(100);
  }
  throw new Error(`the built server never ${what} (${timeoutMs / 1000} s; port ${port}, pid ${server.pid})`);
}

try {
  await until('became ready', async () => (await fetch(`${base}/readyz`)).ok);
  const system = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  const { key } = await call('POST', '/v1/admin/keys', system, { tenant: 'smoke', role: 'operator' });
  const { runId } = await call('POST', '/v1/runs', key, {
    agentId: 'smoke',
    plan: {
      steps: [
        { skill: 'llm_invoke', input: { model: 'stub', prompt: 'Summarise X' } },
        { skill: 'json_transform', input: { expression: 'items[0]', data: { items: [1, 2] } } },
      ],
    },
    budget: { maxCostMicros: 2_000_000 },
  });
  const status = await until('finished the run', async () => {
    const run = await call('GET', `/v1/runs/${runId}`, key);
    return ['succeeded', 'failed', 'cancelled'].includes(run.status) && run.status;
  });
  if (status !== 'succeeded') throw new Error(`run ${runId} ended ${status}`);
  server.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`the built server exited with ${code} on SIGTERM`);
  console.log(`built server: ready, run ${runId} succeeded, stopped cleanly`);
} catch (error) {
  server.kill('SIGKILL');
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
