// Builds an export's manifest while its events stream past (O(streams + log n) memory), and
// the exact bytes its signature covers. Shared by the exporter, the verifier and the benches.

import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/hashing.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { ManifestSigner } from '../infra/signing/signing-key.ts';
import {
  EXPORT_FORMAT_VERSION,
  type ExportedStream,
  type ExportFilter,
  type ExportManifest,
} from './export-format.ts';
import { MerkleBuilder } from './merkle.ts';

/** The bytes the signature covers: RFC 8785 canonical JSON of the manifest without `signature`. */
export function manifestSigningPayload(
  manifest: Omit<ExportManifest, 'signature'> & { signature?: unknown },
): Buffer {
  const { signature: _signature, ...unsigned } = manifest;
  return Buffer.from(canonicalJson(unsigned), 'utf8');
}

export class ManifestBuilder {
  private readonly merkle = new MerkleBuilder();
  private readonly globalPositions = createHash('sha256');
  private readonly streams = new Map<string, ExportedStream>();
  private firstGlobalPosition: string | null = null;
  private lastGlobalPosition: string | null = null;
  private count = 0;

  constructor(private readonly filter: ExportFilter) {}

  add(
    event: Pick<RecordedEvent, 'streamId' | 'streamPosition' | 'globalPosition' | 'prevHash' | 'hash'>,
  ): void {
    this.count++;
    this.firstGlobalPosition ??= event.globalPosition;
    this.lastGlobalPosition = event.globalPosition;
    this.merkle.add(event.hash);
    this.globalPositions.update(`${event.globalPosition}\n`);
    const stream = this.streams.get(event.streamId);
    if (stream) {
      stream.lastPosition = event.streamPosition;
      stream.count++;
      stream.headHash = event.hash;
    } else {
      this.streams.set(event.streamId, {
        firstPosition: event.streamPosition,
        firstPrevHash: event.prevHash,
        lastPosition: event.streamPosition,
        count: 1,
        headHash: event.hash,
      });
    }
  }

  get eventCount(): number {
    return this.count;
  }

  finish(signer: ManifestSigner, createdAt: string): ExportManifest {
    const streams: Record<string, ExportedStream> = {};
    for (const [streamId, stream] of this.streams) streams[streamId] = { ...stream };
    const unsigned: Omit<ExportManifest, 'signature'> = {
      formatVersion: EXPORT_FORMAT_VERSION,
      filter: this.filter,
      count: this.count,
      firstGlobalPosition: this.firstGlobalPosition,
      lastGlobalPosition: this.lastGlobalPosition,
      streams,
      merkleRoot: this.merkle.root(),
      globalPositionsHash: this.globalPositions.copy().digest('hex'),
      createdAt,
      keyId: signer.keyId,
      algorithm: signer.algorithm,
    };
    return { ...unsigned, signature: signer.sign(manifestSigningPayload(unsigned)) };
  }
}

/** The manifest's line (with its newline). */
export function manifestLine(manifest: ExportManifest): string {
  return `${JSON.stringify({ manifest })}\n`;
}
