// The Ed25519 key that signs export manifests (node:crypto, no dependency).
//
// Where it comes from, in order:
// 1. `AOS_SIGNING_KEY`: either the PEM text of a PKCS#8 Ed25519 private key (it starts with
//    "-----BEGIN PRIVATE KEY-----"; "\n" escapes are accepted for one-line environment values)
//    or the path of a file holding one. Anything else stops start-up with a message naming
//    the variable.
// 2. Otherwise `$AOS_DATA_DIR/signing-key.pem`, generated on first start (mode 0600, written
//    under a temporary name and renamed, so no reader ever sees half a key) and reused after.
//
// The key id is the first 16 hex characters of sha256 over the public key's SPKI DER bytes:
// an auditor compares it with the manifest's `keyId` before trusting a public key.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SIGNING_KEY_FILE = 'signing-key.pem';

export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

export interface ManifestSigner {
  keyId: string;
  algorithm: 'Ed25519';
  /** Base64 Ed25519 signature of the bytes. */
  sign(payload: Uint8Array): string;
}

export interface SigningKey extends ManifestSigner {
  publicKey: KeyObject;
  /** The public key as SPKI PEM. */
  publicKeyPem: string;
  /** Where the key came from: 'env', the file it was read from, or 'generated:<file>'. */
  source: string;
}

/** sha256 over the SPKI DER public key, hex, first 16 characters. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

function looksLikePem(value: string): boolean {
  return value.trimStart().startsWith('-----BEGIN');
}

function unescapeNewlines(value: string): string {
  return value.includes('\n') ? value : value.replace(/\\n/g, '\n');
}

/** Parses a PKCS#8 Ed25519 private key; `what` names its origin in the error. */
export function parsePrivateKey(pem: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: unescapeNewlines(pem), format: 'pem' });
  } catch (error) {
    throw new SigningKeyError(
      `${what} is not a PEM private key (expected "-----BEGIN PRIVATE KEY-----", PKCS#8): ${(error as Error).message}`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SigningKeyError(
      `${what} is a key of type ${key.asymmetricKeyType ?? 'unknown'}; an Ed25519 key is required`,
    );
  }
  return key;
}

/** Parses an SPKI PEM public key (or takes the public half of a private key PEM). */
export function parsePublicKey(pem: string, what = 'the public key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: unescapeNewlines(pem), format: 'pem' });
  } catch (error) {
    throw new SigningKeyError(`${what} is not a PEM public key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SigningKeyError(
      `${what} is a key of type ${key.asymmetricKeyType ?? 'unknown'}; an Ed25519 key is required`,
    );
  }
  return key;
}

/**
 * What is wrong with an AOS_SIGNING_KEY value that can be told without reading a file: PEM text
 * that is not an Ed25519 private key. A path is checked when the key is loaded at start.
 */
export function signingKeySettingProblem(value: string): string | null {
  if (!looksLikePem(value)) return null;
  try {
    parsePrivateKey(value, 'the PEM');
    return null;
  } catch (error) {
    return `must be a PKCS#8 Ed25519 private key (PEM) or the path of a file holding one: ${(error as Error).message}`;
  }
}

export function signingKeyFrom(privateKey: KeyObject, source: string): SigningKey {
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    algorithm: 'Ed25519',
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    source,
    sign: (payload) => sign(null, payload, privateKey).toString('base64'),
  };
}

/** True when `signature` (base64) is a valid Ed25519 signature of `payload` under `publicKey`. */
export function verifySignature(publicKey: KeyObject, payload: Uint8Array, signature: string): boolean {
  try {
    return verify(null, payload, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function generateSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Writes the key so that it never exists on disk with wider permissions than 0600. */
async function writeKeyFile(file: string, pem: string): Promise<boolean> {
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, pem, { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600);
    // Another process starting at the same moment may have written one: keep the first.
    if ((await readIfExists(file)) !== null) {
      await rm(temporary, { force: true });
      return false;
    }
    await rename(temporary, file);
    return true;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export interface LoadSigningKeyOptions {
  AOS_SIGNING_KEY?: string | undefined;
  AOS_DATA_DIR: string;
  log?: { info(message: string): void };
}

export async function loadSigningKey(options: LoadSigningKeyOptions): Promise<SigningKey> {
  const configured = options.AOS_SIGNING_KEY;
  if (configured !== undefined && configured !== '') {
    if (looksLikePem(configured))
      return signingKeyFrom(parsePrivateKey(configured, 'AOS_SIGNING_KEY'), 'env');
    const pem = await readIfExists(configured).catch((error: Error) => {
      throw new SigningKeyError(
        `AOS_SIGNING_KEY names a file that cannot be read (${configured}): ${error.message}`,
      );
    });
    if (pem === null) {
      throw new SigningKeyError(
        `AOS_SIGNING_KEY must be a PEM private key or the path of a file holding one; no file ${configured}`,
      );
    }
    return signingKeyFrom(parsePrivateKey(pem, `AOS_SIGNING_KEY (file ${configured})`), configured);
  }
  const file = join(options.AOS_DATA_DIR, SIGNING_KEY_FILE);
  const existing = await readIfExists(file);
  if (existing !== null)
    return signingKeyFrom(parsePrivateKey(existing, `the signing key file ${file}`), file);
  await mkdir(options.AOS_DATA_DIR, { recursive: true });
  const written = await writeKeyFile(file, generateSigningKeyPem());
  const pem = (await readIfExists(file)) ?? '';
  const key = signingKeyFrom(parsePrivateKey(pem, `the signing key file ${file}`), `generated:${file}`);
  if (written) options.log?.info(`generated export signing key ${key.keyId} in ${file} (mode 0600)`);
  return key;
}
