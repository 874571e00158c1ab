// The manifest and signature checks of `aos verify`, once every line has been read: the
// manifest's totals, streams, Merkle root and global positions against what the file holds,
// and the Ed25519 signature against the exporter's public key (replay/verify.ts lists what
// each failure is reported as).
import type { KeyObject } from 'node:crypto';
import { keyIdOf, verifySignature } from '../infra/signing/signing-key.ts';
import { EXPORT_FORMAT_VERSION, type ExportedStream, type ExportManifest } from './export-format.ts';
import { manifestSigningPayload } from './export-manifest.ts';
import type { StreamChain } from './verify-chain.ts';
import type { VerifyProblem } from './verify-problem.ts';

export type SignatureStatus = 'valid' | 'invalid' | 'unchecked' | 'missing';

/** What the verifier read from the file, for the manifest to be checked against. */
export interface ExportContent {
  manifestLine: number;
  events: number;
  firstGlobalPosition: string | null;
  lastGlobalPosition: string | null;
  /** sha256 hex over every event's globalPosition followed by "\n", in file order. */
  globalPositionsHash: string;
  merkleRoot: string;
  streams: ReadonlyMap<string, StreamChain>;
  /** The problems found so far. */
  problems: readonly VerifyProblem[];
  report: (problem: VerifyProblem) => void;
}

export function checkManifest(manifest: ExportManifest, content: ExportContent): void {
  const merkleRoot = content.merkleRoot;
  const at = content.manifestLine;
  const before = content.problems.length;
  const mismatch = (message: string) => content.report({ kind: 'manifest_mismatch', line: at, message });
  if (manifest.formatVersion !== EXPORT_FORMAT_VERSION) {
    mismatch(
      `format version ${manifest.formatVersion}; this verifier reads version ${EXPORT_FORMAT_VERSION}`,
    );
  }
  const listed = manifest.streams ?? {};
  for (const [streamId, chain] of content.streams) {
    const expected = listed[streamId];
    if (!expected) {
      content.report({
        kind: 'inserted',
        line: chain.firstLine,
        message: `stream ${streamId} is not in the manifest`,
        streamId,
      });
      chain.settle(null);
      continue;
    }
    chain.settle(expected.headHash);
    compareStream(content.report, streamId, chain, expected);
  }
  for (const [streamId, expected] of Object.entries(listed)) {
    if (content.streams.has(streamId)) continue;
    content.report({
      kind: 'deleted',
      line: null,
      message: `stream ${streamId}: all ${expected.count} events (positions ${expected.firstPosition}–${expected.lastPosition}) are missing`,
      streamId,
    });
  }
  if (manifest.count !== content.events) {
    mismatch(`the file holds ${content.events} events; the manifest says ${manifest.count}`);
  }
  if (manifest.firstGlobalPosition !== content.firstGlobalPosition) {
    mismatch(
      `the first event is at global position ${content.firstGlobalPosition}; the manifest says ${manifest.firstGlobalPosition}`,
    );
  }
  if (manifest.lastGlobalPosition !== content.lastGlobalPosition) {
    mismatch(
      `the last event is at global position ${content.lastGlobalPosition}; the manifest says ${manifest.lastGlobalPosition}`,
    );
  }
  const positionsChanged =
    manifest.globalPositionsHash !== undefined &&
    manifest.globalPositionsHash !== content.globalPositionsHash;
  if (
    manifest.merkleRoot !== merkleRoot &&
    content.problems.length === before &&
    problemsBeforeManifest(content) === 0
  ) {
    // Every stream's chain, count and head hold, so the same events are there: only their
    // order across streams differs from the order that was signed.
    content.report({
      kind: 'reordered',
      line: null,
      message:
        'the Merkle root differs although every stream holds: events of different streams were reordered',
    });
    return;
  }
  if (positionsChanged) {
    content.report({
      kind: 'edited',
      line: null,
      message: 'the global positions are not the ones the manifest covers: one was changed',
    });
  }
  if (manifest.merkleRoot !== merkleRoot) {
    mismatch(
      `the Merkle root over the event hashes is ${merkleRoot}; the manifest says ${manifest.merkleRoot}`,
    );
  }
}

function problemsBeforeManifest(content: ExportContent): number {
  return content.problems.filter((p) => p.line !== null && p.line < content.manifestLine).length;
}

function compareStream(
  report: (problem: VerifyProblem) => void,
  streamId: string,
  chain: StreamChain,
  expected: ExportedStream,
) {
  const base = { streamId };
  const firstPosition = chain.root.pos + 1;
  if (firstPosition > expected.firstPosition) {
    report({
      ...base,
      kind: 'deleted',
      line: chain.firstLine,
      streamPosition: firstPosition,
      message: `stream ${streamId} starts at position ${firstPosition}; the manifest says ${expected.firstPosition}: its first events are missing`,
    });
  } else if (firstPosition < expected.firstPosition) {
    report({
      ...base,
      kind: 'inserted',
      line: chain.firstLine,
      streamPosition: firstPosition,
      message: `stream ${streamId} starts at position ${firstPosition}; the manifest says ${expected.firstPosition}`,
    });
  } else if (chain.root.hash !== expected.firstPrevHash) {
    report({
      ...base,
      kind: 'manifest_mismatch',
      line: chain.firstLine,
      message: `stream ${streamId}'s first event chains on ${chain.root.hash}; the manifest says ${expected.firstPrevHash}`,
    });
  }
  const tip = chain.tip;
  if (tip.pos < expected.lastPosition) {
    report({
      ...base,
      kind: 'deleted',
      line: null,
      streamPosition: tip.pos + 1,
      message: `stream ${streamId} ends at position ${tip.pos} (line ${tip.line}); the manifest says ${expected.lastPosition}: its last events are missing`,
    });
  } else if (tip.pos > expected.lastPosition) {
    report({
      ...base,
      kind: 'inserted',
      line: tip.line,
      streamPosition: tip.pos,
      message: `stream ${streamId} goes on to position ${tip.pos}; the manifest says it ends at ${expected.lastPosition}`,
    });
  } else if (tip.hash !== expected.headHash) {
    report({
      ...base,
      kind: 'edited',
      line: tip.line,
      streamPosition: tip.pos,
      message: `stream ${streamId}'s last event has hash ${tip.hash}; the manifest's head is ${expected.headHash}: the event was replaced`,
    });
  } else if (chain.count !== expected.count) {
    report({
      ...base,
      kind: 'manifest_mismatch',
      line: null,
      message: `stream ${streamId} has ${chain.count} events in its chain; the manifest says ${expected.count}`,
    });
  }
}

export function checkSignature(
  manifest: ExportManifest,
  at: number,
  publicKey: KeyObject | undefined,
  report: (problem: VerifyProblem) => void,
): SignatureStatus {
  if (!publicKey) return 'unchecked';
  const publicKeyId = keyIdOf(publicKey);
  if (manifest.algorithm !== 'Ed25519') {
    report({
      kind: 'bad_signature',
      line: at,
      message: `algorithm ${manifest.algorithm}; only Ed25519 is accepted`,
    });
    return 'invalid';
  }
  if (manifest.keyId !== publicKeyId) {
    report({
      kind: 'bad_signature',
      line: at,
      message: `the manifest was signed by key ${manifest.keyId}; the given public key is ${publicKeyId}`,
    });
    return 'invalid';
  }
  let payload: Buffer;
  try {
    payload = manifestSigningPayload(manifest);
  } catch {
    report({ kind: 'bad_signature', line: at, message: 'the manifest cannot be canonicalised' });
    return 'invalid';
  }
  if (typeof manifest.signature !== 'string' || !verifySignature(publicKey, payload, manifest.signature)) {
    report({
      kind: 'bad_signature',
      line: at,
      message: 'the signature does not match the manifest: the manifest was changed or signed by another key',
    });
    return 'invalid';
  }
  return 'valid';
}
