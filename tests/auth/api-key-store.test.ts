// The key store on PGlite and PostgreSQL: create, authenticate, list, revoke; only hashes kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiKeyError,
  type ApiKeyStore,
  createApiKeyStore,
  hashApiKey,
  KEY_PREFIX,
} from '../../infra/auth/api-key-store.ts';
import { type SqlHarness, sqlAdapters } from './sql.ts';

for (const adapter of sqlAdapters) {
  describe.runIf(await adapter.available())(`API key store: ${adapter.name}`, () => {
    let harness: SqlHarness;
    let keys: ApiKeyStore;
    beforeAll(async () => {
      harness = await adapter.open();
      keys = createApiKeyStore(harness.client);
    });
    afterAll(() => harness.cleanup());

    it('creates a random prefixed key, shown once, that authenticates as its tenant and role', async () => {
      const { record, key } = await keys.create({ tenantId: 'acme', role: 'operator', label: 'ci' });
      expect(key).toMatch(new RegExp(`^${KEY_PREFIX}[A-Za-z0-9_-]{43}$`));
      expect(record).toMatchObject({ tenantId: 'acme', role: 'operator', label: 'ci', revokedAt: null });
      expect(record.keyId).toMatch(/^key_[0-9a-f]{16}$/);
      expect(new Date(record.createdAt).toISOString()).toBe(record.createdAt);
      expect(await keys.authenticate(key)).toEqual({
        keyId: record.keyId,
        tenantId: 'acme',
        role: 'operator',
      });
      const other = await keys.create({ tenantId: 'acme', role: 'operator' });
      expect(other.key).not.toBe(key);
      expect(other.record.label).toBeNull();
    });

    it('refuses unknown, altered, empty and oversized keys', async () => {
      const { key } = await keys.create({ tenantId: 'acme', role: 'viewer' });
      expect(await keys.authenticate(`${key}x`)).toBeNull();
      expect(await keys.authenticate(key.slice(0, -1))).toBeNull();
      expect(await keys.authenticate('')).toBeNull();
      expect(await keys.authenticate('a'.repeat(10_000))).toBeNull();
      expect(await keys.authenticate(`${KEY_PREFIX}${'A'.repeat(43)}`)).toBeNull();
    });

    it('stores only the sha256 of a key: the plaintext is nowhere in the table', async () => {
      const { record, key } = await keys.create({ tenantId: 'hashes', role: 'admin' });
      const rows = await harness.client.query<Record<string, unknown>>('SELECT * FROM aos_api_keys');
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain(key);
      expect(dump).not.toContain(key.slice(KEY_PREFIX.length));
      const [row] = await harness.client.query<{ key_hash: string }>(
        'SELECT key_hash FROM aos_api_keys WHERE key_id = $1',
        [record.keyId],
      );
      expect(row!.key_hash).toBe(hashApiKey(key));
      expect(row!.key_hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('revokes a key: it no longer authenticates, revoking again keeps the first time', async () => {
      let now = new Date('2030-01-01T00:00:00.000Z');
      const clocked = createApiKeyStore(harness.client, { clock: () => now, cacheTtlMs: 60_000 });
      const { record, key } = await clocked.create({ tenantId: 'revoking', role: 'auditor' });
      expect(await clocked.authenticate(key)).not.toBeNull(); // now cached
      now = new Date('2030-01-02T00:00:00.000Z');
      const revoked = await clocked.revoke(record.keyId);
      expect(revoked).toMatchObject({ keyId: record.keyId, revokedAt: '2030-01-02T00:00:00.000Z' });
      expect(await clocked.authenticate(key)).toBeNull();
      expect(await keys.authenticate(key)).toBeNull();
      now = new Date('2030-01-03T00:00:00.000Z');
      expect((await clocked.revoke(record.keyId))!.revokedAt).toBe('2030-01-02T00:00:00.000Z');
      expect(await clocked.revoke('key_nonexistent')).toBeNull();
    });

    it('does not cache an authentication answered before a revocation made meanwhile', async () => {
      // The lookup's SELECT is held after it read the row, until the revocation has committed.
      let release = () => {};
      let held: Promise<void> | undefined;
      const slow = {
        ...harness.client,
        query: async <R>(sql: string, params?: unknown[]) => {
          const rows = await harness.client.query<R>(sql, params);
          if (held && sql.startsWith('SELECT')) await held;
          return rows;
        },
      };
      const cached = createApiKeyStore(slow, { cacheTtlMs: 60_000 });
      const { record, key } = await cached.create({ tenantId: 'racing', role: 'viewer' });
      held = new Promise((resolve) => {
        release = resolve;
      });
      const racing = cached.authenticate(key);
      await new Promise((resolve) => setTimeout(resolve, 50));
      held = undefined;
      await cached.revoke(record.keyId);
      release();
      // Valid when it was asked; but nothing of it may be remembered.
      expect(await racing).not.toBeNull();
      expect(await cached.authenticate(key)).toBeNull();
    });

    it('refuses a key revoked by another process once its NOTIFY arrives, and within the TTL without it', async () => {
      const other = harness.connect?.() ?? harness.client;
      const here = createApiKeyStore(harness.client, { cacheTtlMs: 60_000, revocations: harness.client });
      const unwatch = await here.watchRevocations();
      const unwatched = createApiKeyStore(harness.client, { cacheTtlMs: 60_000 });
      const shortLived = createApiKeyStore(harness.client, { cacheTtlMs: 200 });
      const elsewhere = createApiKeyStore(other, { revocations: other });
      try {
        const { record, key } = await elsewhere.create({ tenantId: 'remote', role: 'viewer' });
        for (const store of [here, unwatched, shortLived])
          expect(await store.authenticate(key)).not.toBeNull();
        await elsewhere.revoke(record.keyId);
        await expect.poll(() => here.authenticate(key), { timeout: 2_000, interval: 20 }).toBeNull();
        // Without the NOTIFY the cache answers until its TTL ends: the TTL is the bound.
        expect(await unwatched.authenticate(key)).not.toBeNull();
        await expect.poll(() => shortLived.authenticate(key), { timeout: 2_000, interval: 50 }).toBeNull();
      } finally {
        await unwatch();
      }
    });

    it('lists keys without secrets, by tenant, with or without revoked ones', async () => {
      const a = await keys.create({ tenantId: 'listing', role: 'viewer', label: 'first' });
      const b = await keys.create({ tenantId: 'listing', role: 'admin' });
      await keys.create({ tenantId: 'elsewhere', role: 'admin' });
      await keys.revoke(a.record.keyId);
      const all = await keys.list({ tenantId: 'listing' });
      expect(all.map((k) => k.keyId).sort()).toEqual([a.record.keyId, b.record.keyId].sort());
      expect(JSON.stringify(all)).not.toContain(a.key);
      expect(JSON.stringify(all)).not.toContain(hashApiKey(a.key));
      for (const item of all) {
        expect(Object.keys(item).sort()).toEqual(
          ['createdAt', 'keyId', 'label', 'revokedAt', 'role', 'tenantId'].sort(),
        );
      }
      const active = await keys.list({ tenantId: 'listing', includeRevoked: false });
      expect(active.map((k) => k.keyId)).toEqual([b.record.keyId]);
      expect((await keys.list()).some((k) => k.tenantId === 'elsewhere')).toBe(true);
      expect(await keys.get(b.record.keyId)).toEqual(b.record);
      expect(await keys.get('key_nonexistent')).toBeNull();
    });

    it('refuses bad tenants and roles (system keys come only from the bootstrap)', async () => {
      await expect(keys.create({ tenantId: '-bad', role: 'viewer' })).rejects.toBeInstanceOf(ApiKeyError);
      await expect(keys.create({ tenantId: 'a'.repeat(65), role: 'viewer' })).rejects.toBeInstanceOf(
        ApiKeyError,
      );
      await expect(keys.create({ tenantId: 'system', role: 'admin' })).rejects.toBeInstanceOf(ApiKeyError);
      await expect(
        keys.create({ tenantId: 'acme', role: 'system' as unknown as 'admin' }),
      ).rejects.toBeInstanceOf(ApiKeyError);
      await expect(
        harness.client.query(
          `INSERT INTO aos_api_keys (key_id, key_hash, tenant_id, role, created_at)
           VALUES ('key_x', $1, 'acme', 'root', now())`,
          [hashApiKey('whatever')],
        ),
      ).rejects.toThrow();
    });
  });
}
