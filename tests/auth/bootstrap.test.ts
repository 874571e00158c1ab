// The first system key: written to admin.key (0600) once, idempotent across restarts,
// AOS_BOOTSTRAP_KEY honoured, and exactly one key when two processes start at once.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiKeyStore } from '../../infra/auth/api-key-store.ts';
import {
  ADMIN_KEY_FILE,
  BootstrapKeyError,
  bootstrapBanner,
  ensureBootstrapKey,
} from '../../infra/auth/bootstrap.ts';
import { postgres, type SqlHarness, sqlAdapters } from './sql.ts';

function recordingLog() {
  const lines: string[] = [];
  return {
    lines,
    log: { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`) },
  };
}

async function systemKeys(harness: SqlHarness) {
  return harness.client.query<{ key_id: string; revoked_at: Date | null }>(
    `SELECT key_id, revoked_at FROM aos_api_keys WHERE role = 'system' ORDER BY created_at, key_id`,
  );
}

const GIVEN = 'given-bootstrap-key-0123456789-abcdefghij';

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`bootstrap key: ${adapter.name}`, () => {
    let harness: SqlHarness;
    let dataDir: string;
    beforeEach(async () => {
      harness = await adapter.open();
      dataDir = await mkdtemp(join(tmpdir(), 'aos-auth-'));
    });
    afterEach(async () => {
      await harness.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('creates a system key once, writes admin.key with mode 0600, and returns it to print', async () => {
      const { log, lines } = recordingLog();
      const nested = join(dataDir, 'not', 'yet');
      const result = await ensureBootstrapKey({ client: harness.client, dataDir: nested, log });
      expect(result.outcome).toBe('created');
      if (result.outcome !== 'created') return;
      const file = join(nested, ADMIN_KEY_FILE);
      expect(result.file).toBe(file);
      expect((await readFile(file, 'utf8')).trim()).toBe(result.key);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(result.record).toMatchObject({ tenantId: 'system', role: 'system', revokedAt: null });
      expect(await createApiKeyStore(harness.client).authenticate(result.key)).toEqual({
        keyId: result.record.keyId,
        tenantId: 'system',
        role: 'system',
      });
      expect(lines.join('\n')).not.toContain(result.key); // the log never carries the key
      expect(bootstrapBanner(result)).toContain(result.key);
    });

    it('is idempotent across restarts: the second start creates nothing and leaves admin.key alone', async () => {
      const first = await ensureBootstrapKey({ client: harness.client, dataDir, log: recordingLog().log });
      expect(first.outcome).toBe('created');
      const written = await readFile(join(dataDir, ADMIN_KEY_FILE), 'utf8');
      const again = await ensureBootstrapKey({ client: harness.client, dataDir, log: recordingLog().log });
      expect(again).toEqual({ outcome: 'existing' });
      expect(bootstrapBanner(again)).toBeNull();
      expect(await readFile(join(dataDir, ADMIN_KEY_FILE), 'utf8')).toBe(written);
      expect(await systemKeys(harness)).toHaveLength(1);
    });

    it('after the system key is revoked, the next start creates a new one over the old file', async () => {
      const first = await ensureBootstrapKey({ client: harness.client, dataDir, log: recordingLog().log });
      if (first.outcome !== 'created') throw new Error('expected a new key');
      await createApiKeyStore(harness.client).revoke(first.record.keyId);
      const second = await ensureBootstrapKey({ client: harness.client, dataDir, log: recordingLog().log });
      if (second.outcome !== 'created') throw new Error('expected a new key');
      expect(second.key).not.toBe(first.key);
      expect((await readFile(join(dataDir, ADMIN_KEY_FILE), 'utf8')).trim()).toBe(second.key);
      expect((await stat(join(dataDir, ADMIN_KEY_FILE))).mode & 0o777).toBe(0o600);
    });

    it('tightens an existing admin.key that had wider permissions when it replaces it', async () => {
      await writeFile(join(dataDir, ADMIN_KEY_FILE), 'stale\n', { mode: 0o644 });
      const result = await ensureBootstrapKey({ client: harness.client, dataDir, log: recordingLog().log });
      expect(result.outcome).toBe('created');
      expect((await stat(join(dataDir, ADMIN_KEY_FILE))).mode & 0o777).toBe(0o600);
    });

    it('honours AOS_BOOTSTRAP_KEY: registers it, writes no file, and is idempotent', async () => {
      const { log } = recordingLog();
      const result = await ensureBootstrapKey({ client: harness.client, dataDir, bootstrapKey: GIVEN, log });
      expect(result.outcome).toBe('registered');
      await expect(stat(join(dataDir, ADMIN_KEY_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await createApiKeyStore(harness.client).authenticate(GIVEN)).toMatchObject({
        tenantId: 'system',
        role: 'system',
      });
      const rows = JSON.stringify(await harness.client.query('SELECT * FROM aos_api_keys'));
      expect(rows).not.toContain(GIVEN);
      expect(await ensureBootstrapKey({ client: harness.client, dataDir, bootstrapKey: GIVEN, log })).toEqual(
        {
          outcome: 'existing',
        },
      );
      // With a system key present, a start without AOS_BOOTSTRAP_KEY generates nothing.
      expect(await ensureBootstrapKey({ client: harness.client, dataDir, log })).toEqual({
        outcome: 'existing',
      });
      expect(await systemKeys(harness)).toHaveLength(1);
    });

    it('never brings a revoked AOS_BOOTSTRAP_KEY back', async () => {
      const { log, lines } = recordingLog();
      const result = await ensureBootstrapKey({ client: harness.client, dataDir, bootstrapKey: GIVEN, log });
      if (result.outcome !== 'registered') throw new Error('expected registration');
      await createApiKeyStore(harness.client).revoke(result.record.keyId);
      expect(await ensureBootstrapKey({ client: harness.client, dataDir, bootstrapKey: GIVEN, log })).toEqual(
        {
          outcome: 'existing',
        },
      );
      expect(await createApiKeyStore(harness.client).authenticate(GIVEN)).toBeNull();
      expect(lines.some((line) => line.startsWith('warn') && line.includes('revoked'))).toBe(true);
    });

    it('refuses a short or unprintable AOS_BOOTSTRAP_KEY before touching anything', async () => {
      const { log } = recordingLog();
      for (const bad of ['too-short', 'x'.repeat(31), `${'x'.repeat(40)} space`, `${'x'.repeat(40)}\n`]) {
        await expect(
          ensureBootstrapKey({ client: harness.client, dataDir, bootstrapKey: bad, log }),
        ).rejects.toBeInstanceOf(BootstrapKeyError);
      }
      await expect(
        ensureBootstrapKey({ client: harness.client, dataDir, bootstrapKey: 'x'.repeat(31), log }),
      ).rejects.toThrow(/at least 32 characters/);
      expect(await systemKeys(harness)).toHaveLength(0);
    });
  });
}

describe.runIf(await postgres.available())('bootstrap key: two processes at once on PostgreSQL', () => {
  it('leaves exactly one system key and one admin.key, whoever wins', async () => {
    // Migrated first: concurrent first-time `migrate` calls are the event store's concern.
    const harness = await postgres.open();
    const dirs = await Promise.all([0, 1, 2, 3].map(() => mkdtemp(join(tmpdir(), 'aos-auth-race-'))));
    try {
      const processes = dirs.map(() => harness.connect!());
      // Each "process" bootstraps on its own pool and its own data folder.
      const results = await Promise.all(
        processes.map((client, i) =>
          ensureBootstrapKey({ client, dataDir: dirs[i]!, log: recordingLog().log }),
        ),
      );
      const created = results.filter((r) => r.outcome === 'created');
      expect(created).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'existing')).toHaveLength(dirs.length - 1);
      expect(await systemKeys(harness)).toHaveLength(1);
      const files = await Promise.all(
        dirs.map((dir) => readFile(join(dir, ADMIN_KEY_FILE), 'utf8').catch(() => null)),
      );
      expect(files.filter((f) => f !== null)).toHaveLength(1);
      if (created[0]!.outcome === 'created') {
        expect(files.find((f) => f !== null)!.trim()).toBe(created[0]!.key);
      }
    } finally {
      await harness.cleanup();
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    }
  });

  it('with AOS_BOOTSTRAP_KEY, concurrent starts register it exactly once', async () => {
    const harness = await postgres.open();
    try {
      const processes = [0, 1, 2, 3].map(() => harness.connect!());
      const results = await Promise.all(
        processes.map((client) =>
          ensureBootstrapKey({ client, dataDir: tmpdir(), bootstrapKey: GIVEN, log: recordingLog().log }),
        ),
      );
      expect(results.filter((r) => r.outcome === 'registered')).toHaveLength(1);
      expect(await systemKeys(harness)).toHaveLength(1);
    } finally {
      await harness.cleanup();
    }
  });
});
