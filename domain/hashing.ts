// Content hashes and deterministic ids. Everything that must be reproducible on replay
// (policy and price-table hashes, decision ids, approval ids, jitter) is derived here from
// its inputs with sha256 over RFC 8785 canonical JSON, never from randomness.
import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

export { canonicalJson } from './canonical-json.ts';

// One-shot crypto.hash: a third of createHash().update().digest()'s time on short texts.
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

export function sha256Bytes(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/**
 * A UUID-shaped id derived from its parts (RFC 9562 version 8, "custom"): the same parts
 * always give the same id, so re-running a command re-derives the same approval or
 * decision id instead of minting a new one.
 */
export function deterministicUuid(...parts: Array<string | number>): string {
  const bytes = sha256Bytes(parts.map(String).join(':')).subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
