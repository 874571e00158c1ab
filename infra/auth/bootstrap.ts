// The first `system` key. On a start with no active system key, AOS creates one, writes it to
// $AOS_DATA_DIR/admin.key (mode 0600) and hands it back once for the caller to print.
// AOS_BOOTSTRAP_KEY names the key instead: it is registered (once) and neither written nor printed.
// Several processes may start at once against one PostgreSQL: an advisory lock makes the check
// and the insert one step, so exactly one system key results.
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SqlClient } from '../../domain/store/sql-port.ts';
import {
  type ApiKeyRecord,
  apiKeyProblem,
  generateApiKey,
  hashApiKey,
  insertApiKey,
  SYSTEM_TENANT,
} from './api-key-store.ts';

export const ADMIN_KEY_FILE = 'admin.key';
const BOOTSTRAP_LOCK = 0x414f5301; // "AOS" 01: distinct from the migration lock

export interface BootstrapLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface BootstrapOptions {
  client: SqlClient;
  dataDir: string;
  /** AOS_BOOTSTRAP_KEY: registers this value as a system key rather than generating one. */
  bootstrapKey?: string | undefined;
  log: BootstrapLog;
  clock?: () => Date;
}

export type BootstrapResult =
  /** A key was generated now: print `key` once; it is also in `file`. */
  | { outcome: 'created'; key: string; file: string; record: ApiKeyRecord }
  /** AOS_BOOTSTRAP_KEY was registered now (not written anywhere, not to be printed). */
  | { outcome: 'registered'; record: ApiKeyRecord }
  /** A system key already existed (or the given one was already registered): nothing done. */
  | { outcome: 'existing' };

export class BootstrapKeyError extends Error {
  override readonly name = 'BootstrapKeyError';
}

/** Writes the key so that it never exists on disk with wider permissions than 0600. */
async function writeKeyFile(file: string, key: string): Promise<void> {
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, `${key}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function ensureBootstrapKey(options: BootstrapOptions): Promise<BootstrapResult> {
  const { client, dataDir, bootstrapKey, log } = options;
  const clock = options.clock ?? (() => new Date());
  if (bootstrapKey !== undefined) {
    const problem = apiKeyProblem(bootstrapKey);
    if (problem) throw new BootstrapKeyError(`AOS_BOOTSTRAP_KEY ${problem}`);
  }
  const file = join(dataDir, ADMIN_KEY_FILE);

  return client.transaction(async (tx): Promise<BootstrapResult> => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK]);

    if (bootstrapKey !== undefined) {
      const [known] = await tx.query<{ role: string; revoked_at: Date | string | null }>(
        'SELECT role, revoked_at FROM aos_api_keys WHERE key_hash = $1',
        [hashApiKey(bootstrapKey)],
      );
      if (known) {
        // A revoked key stays revoked: a restart must not bring it back.
        if (known.revoked_at !== null) {
          log.warn('AOS_BOOTSTRAP_KEY names a revoked key: it stays revoked; set a new value');
        } else if (known.role !== 'system') {
          throw new BootstrapKeyError(
            `AOS_BOOTSTRAP_KEY is already a key of the role ${known.role}, not a system key`,
          );
        }
        return { outcome: 'existing' };
      }
      const record = await insertApiKey(tx, {
        key: bootstrapKey,
        tenantId: SYSTEM_TENANT,
        role: 'system',
        label: 'bootstrap (AOS_BOOTSTRAP_KEY)',
        createdAt: clock(),
      });
      if (!record) return { outcome: 'existing' }; // registered meanwhile (cannot happen under the lock)
      log.info(`registered AOS_BOOTSTRAP_KEY as system key ${record.keyId}`);
      return { outcome: 'registered', record };
    }

    const [active] = await tx.query<{ key_id: string }>(
      `SELECT key_id FROM aos_api_keys WHERE role = 'system' AND revoked_at IS NULL LIMIT 1`,
    );
    if (active) return { outcome: 'existing' };

    const key = generateApiKey();
    const record = await insertApiKey(tx, {
      key,
      tenantId: SYSTEM_TENANT,
      role: 'system',
      label: 'bootstrap',
      createdAt: clock(),
    });
    // Written before the commit: if the write fails nothing is recorded, and if the commit fails
    // the next start finds no system key and writes a new one over the stale file.
    await mkdir(dataDir, { recursive: true });
    await writeKeyFile(file, key);
    log.info(`created system key ${record!.keyId}; it is in ${file} (mode 0600)`);
    return { outcome: 'created', key, file, record: record! };
  });
}

/** The lines to print once when a key was generated (to stdout, not to a shipped log). */
export function bootstrapBanner(result: BootstrapResult): string | null {
  if (result.outcome !== 'created') return null;
  return [
    '',
    'AOS created its first system key. It is shown this once and kept in',
    `  ${result.file} (mode 0600):`,
    '',
    `  ${result.key}`,
    '',
    'Use it as "Authorization: Bearer <key>" to create tenant keys with POST /v1/admin/keys.',
    '',
  ].join('\n');
}
