// The export signing key: from AOS_SIGNING_KEY (PEM or a file), or generated once into the
// data dir (mode 0600) and reused; errors name the variable.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config.ts';
import {
  generateSigningKeyPem,
  keyIdOf,
  loadSigningKey,
  SIGNING_KEY_FILE,
  SigningKeyError,
  verifySignature,
} from '../../infra/signing/signing-key.ts';

describe('signing key', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aos-signing-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is generated into the data dir with mode 0600 on first start and reused after', async () => {
    const first = await loadSigningKey({ AOS_DATA_DIR: dir });
    const file = join(dir, SIGNING_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await loadSigningKey({ AOS_DATA_DIR: dir });
    expect(again.keyId).toBe(first.keyId);
    expect(first.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(first.keyId).toBe(keyIdOf(first.publicKey));
    const signature = first.sign(Buffer.from('manifest'));
    expect(verifySignature(again.publicKey, Buffer.from('manifest'), signature)).toBe(true);
    expect(verifySignature(again.publicKey, Buffer.from('manifesT'), signature)).toBe(false);
    expect(await readFile(file, 'utf8')).toContain('BEGIN PRIVATE KEY');
  });

  it('comes from AOS_SIGNING_KEY as PEM text (also with \\n escapes) or as a file path', async () => {
    const pem = generateSigningKeyPem();
    const fromText = await loadSigningKey({ AOS_DATA_DIR: dir, AOS_SIGNING_KEY: pem });
    const escaped = await loadSigningKey({ AOS_DATA_DIR: dir, AOS_SIGNING_KEY: pem.replace(/\n/g, '\\n') });
    const file = join(dir, 'mine.pem');
    await writeFile(file, pem);
    const fromFile = await loadSigningKey({ AOS_DATA_DIR: dir, AOS_SIGNING_KEY: file });
    expect(new Set([fromText.keyId, escaped.keyId, fromFile.keyId]).size).toBe(1);
    await expect(stat(join(dir, SIGNING_KEY_FILE))).rejects.toThrow();
  });

  it('refuses a missing file, garbage, or a key that is not Ed25519, naming AOS_SIGNING_KEY', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    for (const value of [
      join(dir, 'missing.pem'),
      '-----BEGIN PRIVATE KEY-----\ngarbage\n',
      rsa.toString(),
    ]) {
      const attempt = loadSigningKey({ AOS_DATA_DIR: dir, AOS_SIGNING_KEY: value });
      await expect(attempt).rejects.toBeInstanceOf(SigningKeyError);
      await expect(attempt).rejects.toThrow(/AOS_SIGNING_KEY/);
    }
  });
});

describe('AOS_SIGNING_KEY in the configuration', () => {
  it('refuses PEM text that is not an Ed25519 private key, naming the variable and never echoing it', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    for (const value of [rsa, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n']) {
      let message = '';
      try {
        loadConfig({ AOS_SIGNING_KEY: value });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message).toMatch(/AOS_SIGNING_KEY: must be a PKCS#8 Ed25519 private key/);
      expect(message).not.toContain(value.split('\n')[1]);
    }
    expect(loadConfig({ AOS_SIGNING_KEY: generateSigningKeyPem() }).AOS_SIGNING_KEY).toContain('BEGIN');
    expect(loadConfig({ AOS_SIGNING_KEY: '/etc/aos/signing.pem' }).AOS_SIGNING_KEY).toBe(
      '/etc/aos/signing.pem',
    );
  });
});
