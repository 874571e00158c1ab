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
  // From the hex digest, not its bytes: Node writes a digest as a string about twice as fast
  // as a Buffer, and replay derives an id per status change and divergence sample.
  const hex = sha256Hex(parts.map(String).join(':'));
  // The version nibble is 8; the variant's two top bits are 10.
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
