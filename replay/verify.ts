// `aos verify`: checks an export file (replay/export-format.ts, JSONL or CloudEvents lines) on
// its own, without a database; replay runs the same verifier while it folds. Pure over the
// file's lines; the CLI only reads and prints. Lines are parsed by replay/export-line.ts, each
// stream's chain is followed by replay/verify-chain.ts, the manifest and the signature are
// checked by replay/verify-manifest.ts; this file drives them.
//
// What is checked, and the kind of problem each failure is reported as (with its line):
// - every line parses, as an event or the manifest (a broken line: `edited`; a broken last
//   line with no manifest after it: `truncated`; anything after the manifest: `inserted`);
// - every event's hash recomputes from its content (`edited`);
// - every stream's chain: consecutive positions, each prevHash the hash of the event before,
//   starting where the manifest says the stream's export starts (firstPosition,
//   firstPrevHash). A break is classified by what the lines around it prove:
//     `deleted`   positions are missing (the next event links to a hash never seen);
//     `reordered` an event comes before its predecessor (a later line completes the chain);
//     `inserted`  a line that does not fit the chain: a second event at a position whose
//                 successor links to the other one (a forged event with a recomputed hash),
//                 a position already passed, a stream the manifest does not list;
//     `edited`    an event whose hash recomputes but whose successor links to another hash
//                 (replaced and re-hashed), or whose hash is not the manifest's head.
//   Links are resolved with a small look-ahead per stream (PENDING_LIMIT unlinked events),
//   so a tampered stream costs a little memory and a healthy one none;
// - against the manifest: the count, first and last global positions, each stream's first
//   position and prevHash, last position, count and head hash (`deleted`, `inserted`,
//   `edited` where the difference says which, else `manifest_mismatch`), the Merkle root over
//   the hashes in file order — when it is the only thing that differs, events of different
//   streams were swapped (`reordered`) —, the format version;
// - the signature (`bad_signature`): with a public key, the manifest's keyId must be that
//   key's and the Ed25519 signature must hold; without one it is reported as unchecked.
//
// Memory: per stream a few numbers, hashes and a ring of RECENT events; the Merkle builder's
// O(log n) hashes. File order is the store's commit order: global positions are not required to
// increase across streams (concurrent transactions commit out of position order).
import { createHash, type KeyObject } from 'node:crypto';
import { keyIdOf } from '../infra/signing/signing-key.ts';
import { type CheckedLine, checkLine } from './check-line.ts';
import type { ExportManifest } from './export-format.ts';
import { MerkleBuilder } from './merkle.ts';
import { type ChainNode, StreamChain } from './verify-chain.ts';
import { checkManifest, checkSignature, type SignatureStatus } from './verify-manifest.ts';
import type { VerifyProblem } from './verify-problem.ts';

export type { SignatureStatus } from './verify-manifest.ts';
export type { ProblemKind, VerifyProblem } from './verify-problem.ts';

export interface VerifyReport {
  ok: boolean;
  lines: number;
  events: number;
  streams: number;
  format: 'jsonl' | 'cloudevents' | 'mixed' | 'empty';
  signature: SignatureStatus;
  /** The manifest's key id, and the given public key's when one was given. */
  keyId: string | null;
  publicKeyId: string | null;
  merkleRoot: string;
  manifest: Omit<ExportManifest, 'streams' | 'signature'> | null;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  /** The exporter's public key; without it the signature is reported as unchecked. */
  publicKey?: KeyObject;
}

/** Push the file's lines one by one, then `finish()`. */
export class ExportVerifier {
  private lineNumber = 0;
  private events = 0;
  private jsonl = 0;
  private cloudEvents = 0;
  private readonly merkle = new MerkleBuilder();
  private readonly globalPositions = createHash('sha256');
  /** Global positions not yet hashed: one update per 64 KiB, not one per event. */
  private pendingPositions = '';
  private readonly streams = new Map<string, StreamChain>();
  private readonly problems: VerifyProblem[] = [];
  private readonly brokenLines: number[] = [];
  private manifest: ExportManifest | null = null;
  private manifestLine = 0;
  private lastContentLine = 0;
  private lastLineBroken = false;
  private firstGlobalPosition: string | null = null;
  private lastGlobalPosition: string | null = null;

  constructor(private readonly options: VerifyOptions = {}) {}

  private readonly report = (problem: VerifyProblem) => {
    this.problems.push(problem);
  };

  private readonly brokenLinesBetween = (from: number, to: number) =>
    this.brokenLines.filter((line) => line > from && line < to).length;

  get linesRead(): number {
    return this.lineNumber;
  }

  /** Verifies the next line. */
  line(text: string): void {
    this.checked(checkLine(text));
  }

  /** Follows the next line, already checked on its own (replay/check-line.ts). */
  checked(parsed: CheckedLine): void {
    const line = ++this.lineNumber;
    if (parsed.kind === 'blank') return;
    this.lastContentLine = line;
    this.lastLineBroken = false;
    if (this.manifest) {
      this.report({
        kind: 'inserted',
        line,
        message: `a line after the manifest (line ${this.manifestLine})`,
      });
      return;
    }
    if (parsed.kind === 'broken') this.broken(line, parsed.message);
    else if (parsed.kind === 'manifest') {
      this.manifest = parsed.manifest;
      this.manifestLine = line;
    } else this.event(line, parsed);
  }

  private event(line: number, event: CheckedLine & { kind: 'event' }) {
    if (event.cloudEvent) this.cloudEvents++;
    else this.jsonl++;
    const { streamId, streamPosition, hash, prevHash, globalPosition, malformed, edited } = event;
    this.events++;
    this.merkle.add(hash);
    this.pendingPositions += `${globalPosition}\n`;
    if (this.pendingPositions.length >= 65_536) this.hashPendingPositions();
    this.firstGlobalPosition ??= globalPosition;
    this.lastGlobalPosition = globalPosition;
    if (malformed) {
      this.report({ kind: 'edited', line, message: malformed, streamId, streamPosition });
    }
    if (edited) {
      this.report({
        kind: 'edited',
        line,
        message: 'the hash does not recompute from the content: the event was changed',
        streamId,
        streamPosition,
      });
    }
    const node: ChainNode = { pos: streamPosition, hash, prevHash, line };
    const chain = this.streams.get(streamId);
    if (chain) chain.add(node, edited);
    else this.streams.set(streamId, new StreamChain(streamId, node, this.report, this.brokenLinesBetween));
  }

  private hashPendingPositions() {
    this.globalPositions.update(this.pendingPositions);
    this.pendingPositions = '';
  }

  private broken(line: number, message: string) {
    this.brokenLines.push(line);
    this.lastLineBroken = true;
    this.report({ kind: 'edited', line, message });
  }

  finish(): VerifyReport {
    const manifest = this.manifest;
    let signature: SignatureStatus = 'missing';
    const publicKeyId = this.options.publicKey ? keyIdOf(this.options.publicKey) : null;
    const merkleRoot = this.merkle.root();
    if (!manifest) {
      for (const chain of this.streams.values()) chain.settle(null);
      if (this.lastLineBroken) {
        const last = this.problems.findLast((p) => p.line === this.lastContentLine);
        if (last) {
          last.kind = 'truncated';
          last.message = `the file is cut: line ${this.lastContentLine} is incomplete and no manifest follows (${last.message})`;
        }
      } else {
        this.report({
          kind: 'truncated',
          line: this.lastContentLine + 1,
          message: `no manifest: the file ends after line ${this.lastContentLine}`,
        });
      }
    } else {
      this.hashPendingPositions();
      checkManifest(manifest, {
        manifestLine: this.manifestLine,
        events: this.events,
        firstGlobalPosition: this.firstGlobalPosition,
        lastGlobalPosition: this.lastGlobalPosition,
        globalPositionsHash: this.globalPositions.digest('hex'),
        merkleRoot,
        streams: this.streams,
        problems: this.problems,
        report: this.report,
      });
      signature = checkSignature(manifest, this.manifestLine, this.options.publicKey, this.report);
    }
    const problems = this.problems.sort(
      (a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER),
    );
    const format =
      this.events === 0
        ? 'empty'
        : this.cloudEvents === 0
          ? 'jsonl'
          : this.jsonl === 0
            ? 'cloudevents'
            : 'mixed';
    let summary: VerifyReport['manifest'] = null;
    if (manifest) {
      const { streams: _streams, signature: _signature, ...rest } = manifest;
      summary = rest;
    }
    return {
      ok: problems.length === 0,
      lines: this.lineNumber,
      events: this.events,
      streams: this.streams.size,
      format,
      signature,
      keyId: manifest?.keyId ?? null,
      publicKeyId,
      merkleRoot,
      manifest: summary,
      problems,
    };
  }
}

/** Verifies an export given as lines (without their newlines). */
export async function verifyExport(
  lines: Iterable<string> | AsyncIterable<string>,
  options: VerifyOptions & { onLine?: (verifier: ExportVerifier) => void } = {},
): Promise<VerifyReport> {
  const verifier = new ExportVerifier(options);
  for await (const line of lines) {
    verifier.line(line);
    options.onLine?.(verifier);
  }
  return verifier.finish();
}
