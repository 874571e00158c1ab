// `aos migrate` as a user runs it: it names the store it migrates, and refuses to guess
// when DATABASE_URL is set without AOS_STORE (it used to migrate a new embedded store).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';

function aos(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const { AOS_STORE: _store, DATABASE_URL: _url, ...inherited } = process.env;
    const child = spawn(process.execPath, ['bin/aos.js', ...args], {
      env: { ...inherited, AOS_LOG_LEVEL: 'silent', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const withPostgres = await postgresReachable();

// Each case starts `aos` (tsx compiling the CLI): slow on a loaded machine.
describe('aos migrate', { timeout: 180_000 }, () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'aos-migrate-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('refuses DATABASE_URL without AOS_STORE, saying what to set, and creates no store', async () => {
    const result = await aos(['migrate'], { AOS_DATA_DIR: dataDir, DATABASE_URL: databaseUrl });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL is set but AOS_STORE is not');
    expect(result.stderr).toContain('AOS_STORE=postgres');
    expect(result.stdout).not.toContain('applied');
    expect(existsSync(join(dataDir, 'pglite'))).toBe(false);
  });

  it('names the embedded store it migrates', async () => {
    const result = await aos(['migrate'], { AOS_DATA_DIR: dataDir, AOS_STORE: 'pglite' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`migrating the embedded PGlite store in ${dataDir}`);
    expect(result.stdout).toMatch(/applied +001_event_store\.sql/);
  });

  it.runIf(withPostgres)('names the PostgreSQL database it migrates', async () => {
    const { schema, drop } = await createTestSchema();
    try {
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const result = await aos(['migrate'], {
        AOS_DATA_DIR: dataDir,
        AOS_STORE: 'postgres',
        DATABASE_URL: url.toString(),
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        `migrating the PostgreSQL database ${url.pathname.slice(1)} at ${url.host}`,
      );
      expect(result.stdout).toMatch(/applied +001_event_store\.sql/);
    } finally {
      await drop();
    }
  });
});
