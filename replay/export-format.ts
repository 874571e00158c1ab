// The audit export file (format version 1): JSON Lines, one recorded event per line with
// its full envelope and hash, in global order; the last line is the signed manifest.
//
//   {"eventId":…,"streamId":…,"streamPosition":…,"globalPosition":"…","type":…,
//    "schemaVersion":…,"data":…,"metadata":…,"recordedAt":…,"prevHash":…,"hash":…}
//   …
//   {"manifest":{…,"signature":"<base64>"}}
//
// An export may start in the middle of a stream (a time range): each stream's chain is then
// checked from the prevHash of its first exported event, which the manifest records.
export const EXPORT_FORMAT_VERSION = 1;

export interface ExportFilter {
  tenantId: string;
  streamId?: string;
  runId?: string;
  /** ISO-8601 bounds on recordedAt: from inclusive, to exclusive. */
  from?: string;
  to?: string;
}

export interface ExportedStream {
  /** Position and prevHash of the stream's first exported event (where its chain resumes). */
  firstPosition: number;
  firstPrevHash: string;
  lastPosition: number;
  count: number;
  headHash: string;
}

export interface ExportManifest {
  formatVersion: number;
  filter: ExportFilter;
  count: number;
  firstGlobalPosition: string | null;
  lastGlobalPosition: string | null;
  streams: Record<string, ExportedStream>;
  /** Root of a Merkle tree over the event hashes in file order (see replay/merkle.ts). */
  merkleRoot: string;
  /**
   * sha256 hex over every event's globalPosition followed by "\n", in file order. Global
   * positions are not covered by the event hashes; this makes them tamper-evident too.
   * Optional (added within format 1): checked when present.
   */
  globalPositionsHash?: string;
  createdAt: string;
  /** Identifies the signing key: sha256 of its public key (SPKI DER), hex, first 16 chars. */
  keyId: string;
  algorithm: 'Ed25519';
  /** Base64 Ed25519 signature over the RFC 8785 canonical JSON of the manifest without it. */
  signature: string;
}
