// API keys on SQL (PostgreSQL or PGlite): each key is bound to one tenant and one role.
// Keys are 32 random bytes (base64url) behind the `aos_` prefix; only their sha256 is stored,
// which is right for high-entropy secrets (no salt or slow hash needed: nothing to guess).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ActorRole } from '../../domain/actor.ts';
import type { SqlClient, SqlExecutor } from '../../domain/store/sql-port.ts';

/** The migrations of the key store; pass to `migrate` beside the event store's. */
export const authMigrations = fileURLToPath(new URL('./migrations/', import.meta.url));

export const KEY_PREFIX = 'aos_';

// In domain/actor.ts, where the API contract (contracts/, bundled by the console) reads them too.
import { SYSTEM_TENANT, type TenantRole, tenantIdPattern, tenantRoles } from '../../domain/actor.ts';

export { SYSTEM_TENANT, type TenantRole, tenantIdPattern, tenantRoles };

/** Who a key is: what authentication yields. */
export interface KeyIdentity {
  keyId: string;
  tenantId: string;
  role: ActorRole;
}

/** A key as listed: everything but the secret. */
export interface ApiKeyRecord extends KeyIdentity {
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface CreatedApiKey {
  record: ApiKeyRecord;
  /** The plaintext key: shown once, never stored. */
  key: string;
}

export interface ApiKeyStore {
  create(input: { tenantId: string; role: TenantRole; label?: string | null }): Promise<CreatedApiKey>;
  /** The key's identity, or null when it is unknown, revoked or malformed. */
  authenticate(key: string): Promise<KeyIdentity | null>;
  list(filter?: { tenantId?: string; includeRevoked?: boolean }): Promise<ApiKeyRecord[]>;
  get(keyId: string): Promise<ApiKeyRecord | null>;
  /** Revokes a key (idempotent: a revoked key keeps its first revocation time); null if unknown. */
  revoke(keyId: string): Promise<ApiKeyRecord | null>;
  /**
   * Forgets every cached authentication when another process revokes a key (its NOTIFY on
   * `revocations`); resolves to the unlisten function. Without it, the cache's TTL alone bounds
   * how long such a key keeps working here.
   */
  watchRevocations(): Promise<() => Promise<void>>;
}

/** The channel a revocation is announced on, so that other processes forget their cached keys. */
export const KEY_REVOCATIONS_CHANNEL = 'aos_api_key_revocations';

export interface ApiKeyStoreOptions {
  clock?: () => Date;
  /**
   * How long a successful authentication may be answered from memory, in ms (default 0: every
   * request asks the database). Revocation through this store takes effect at once; a revocation
   * made by another process takes effect when its NOTIFY arrives (`revocations`,
   * `watchRevocations`), and within this time at the latest (a lost NOTIFY).
   */
  cacheTtlMs?: number;
  /** Where revocations are announced and heard (the store's SqlClient); absent, nowhere. */
  revocations?: Pick<SqlClient, 'listen' | 'notify'>;
}

export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
}

/** Longest key accepted for authentication; anything longer is refused without a query. */
const MAX_KEY_LENGTH = 512;
const CACHE_LIMIT = 10_000;

export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function generateKeyId(): string {
  return `key_${randomBytes(8).toString('hex')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Why a key supplied from outside (AOS_BOOTSTRAP_KEY) is unusable, or null when it is fine. */
export function apiKeyProblem(key: string): string | null {
  if (key.length < 32) return 'must be at least 32 characters';
  if (key.length > MAX_KEY_LENGTH) return `must be at most ${MAX_KEY_LENGTH} characters`;
  if (!/^[\x21-\x7e]+$/.test(key)) return 'must be printable ASCII without spaces';
  return null;
}

interface KeyRow {
  key_id: string;
  key_hash: string;
  tenant_id: string;
  role: ActorRole;
  label: string | null;
  created_at: Date | string;
  revoked_at: Date | string | null;
}

const iso = (value: Date | string) => (value instanceof Date ? value : new Date(value)).toISOString();

export function toRecord(row: KeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    tenantId: row.tenant_id,
    role: row.role,
    label: row.label,
    createdAt: iso(row.created_at),
    revokedAt: row.revoked_at === null ? null : iso(row.revoked_at),
  };
}

const COLUMNS = 'key_id, key_hash, tenant_id, role, label, created_at, revoked_at';

/** Inserts a key row; used by `create` and by the bootstrap (the only path to a system key). */
export async function insertApiKey(
  sql: SqlExecutor,
  input: { key: string; tenantId: string; role: ActorRole; label: string | null; createdAt: Date },
): Promise<ApiKeyRecord | null> {
  const [row] = await sql.query<KeyRow>(
    `INSERT INTO aos_api_keys (key_id, key_hash, tenant_id, role, label, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (key_hash) DO NOTHING
     RETURNING ${COLUMNS}`,
    [generateKeyId(), hashApiKey(input.key), input.tenantId, input.role, input.label, input.createdAt],
  );
  return row ? toRecord(row) : null;
}

export function createApiKeyStore(sql: SqlExecutor, options: ApiKeyStoreOptions = {}): ApiKeyStore {
  const clock = options.clock ?? (() => new Date());
  const ttl = options.cacheTtlMs ?? 0;
  const cache = new Map<string, { identity: KeyIdentity; until: number }>();
  // Moves on every revocation heard of: a lookup that began before one is not cached, since its
  // answer may predate the revocation.
  let generation = 0;
  const forgetAll = () => {
    generation++;
    cache.clear();
  };

  return {
    async create({ tenantId, role, label = null }) {
      if (!tenantIdPattern.test(tenantId))
        throw new ApiKeyError(`invalid tenant id ${JSON.stringify(tenantId)}`);
      if (tenantId === SYSTEM_TENANT) throw new ApiKeyError(`the tenant "${SYSTEM_TENANT}" is reserved`);
      if (!(tenantRoles as readonly string[]).includes(role)) {
        throw new ApiKeyError(`a key of role ${JSON.stringify(role)} cannot be created`);
      }
      const key = generateApiKey();
      const record = await insertApiKey(sql, { key, tenantId, role, label, createdAt: clock() });
      // 256 random bits never collide; if they ever did, refusing is the only safe answer.
      if (!record) throw new ApiKeyError('key collision');
      return { record, key };
    },

    async authenticate(key) {
      if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) return null;
      const hash = hashApiKey(key);
      if (ttl > 0) {
        const hit = cache.get(hash);
        if (hit && hit.until > Date.now()) return hit.identity;
        if (hit) cache.delete(hash);
      }
      const asked = generation;
      const [row] = await sql.query<KeyRow>(
        `SELECT ${COLUMNS} FROM aos_api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      // The lookup is by the hash of a 256-bit secret, so its timing tells nothing useful; the
      // constant-time comparison only guards against a row that does not match what was asked.
      if (!row || !timingSafeEqual(Buffer.from(row.key_hash, 'hex'), Buffer.from(hash, 'hex'))) return null;
      const identity: KeyIdentity = { keyId: row.key_id, tenantId: row.tenant_id, role: row.role };
      if (ttl > 0 && asked === generation) {
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(hash, { identity, until: Date.now() + ttl });
      }
      return identity;
    },

    async list({ tenantId, includeRevoked = true } = {}) {
      const rows = await sql.query<KeyRow>(
        `SELECT ${COLUMNS} FROM aos_api_keys
         WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::boolean OR revoked_at IS NULL)
         ORDER BY created_at, key_id`,
        [tenantId ?? null, includeRevoked],
      );
      return rows.map(toRecord);
    },

    async get(keyId) {
      const [row] = await sql.query<KeyRow>(`SELECT ${COLUMNS} FROM aos_api_keys WHERE key_id = $1`, [keyId]);
      return row ? toRecord(row) : null;
    },

    async revoke(keyId) {
      forgetAll();
      const [row] = await sql.query<KeyRow>(
        `UPDATE aos_api_keys SET revoked_at = COALESCE(revoked_at, $2)
         WHERE key_id = $1 RETURNING ${COLUMNS}`,
        [keyId, clock()],
      );
      // Again once committed: a lookup answered meanwhile may have cached the key as it was.
      forgetAll();
      if (row) options.revocations?.notify(KEY_REVOCATIONS_CHANNEL);
      return row ? toRecord(row) : null;
    },

    watchRevocations: async () =>
      options.revocations ? options.revocations.listen(KEY_REVOCATIONS_CHANNEL, forgetAll) : async () => {},
  };
}
