// `aos replay --certify` as a user runs it, on an export fetched from the test app: what the
// CLI prints (--json), so a test can assert the runs certified and the chain verified.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestApp } from './app.ts';

/** Exports `query` (e.g. `run=<id>`, or '' for the key's tenant) and replays it with --certify. */
export async function replayCertified(app: TestApp, auditorKey: string, query = '') {
  const exported = await app.request('GET', `/v1/export${query ? `?${query}` : ''}`, { key: auditorKey });
  if (exported.status !== 200) throw new Error(`export failed: ${exported.status}`);
  const dir = await mkdtemp(join(tmpdir(), 'aos-replay-'));
  try {
    const file = join(dir, 'export.jsonl');
    await writeFile(file, exported.body as string);
    const { stdout } = await promisify(execFile)(
      'node',
      ['bin/aos.js', 'replay', file, '--out', join(dir, 'out'), '--certify', '--json'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    return JSON.parse(stdout) as {
      certification: { runs: number; certified: number; failed: number };
      verification: { verified: boolean; problemCount: number };
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
