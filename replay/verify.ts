// `aos verify`: checks an export file (replay/export-format.ts, JSONL or CloudEvents lines) on
// its own, without a database. Pure over the file's lines; the CLI only reads and prints.
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
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { eventHash, GENESIS_HASH } from '../domain/store/hash-chain.ts';
import { keyIdOf, verifySignature } from '../infra/signing/signing-key.ts';
import { fromCloudEvent, isCloudEvent } from './export-cloudevents.ts';
import { EXPORT_FORMAT_VERSION, type ExportManifest } from './export-format.ts';
import { manifestSigningPayload } from './export-manifest.ts';
import { MerkleBuilder } from './merkle.ts';

export const problemKinds = [
  'edited',
  'deleted',
  'inserted',
  'reordered',
  'truncated',
  'bad_signature',
  'manifest_mismatch',
] as const;
export type ProblemKind = (typeof problemKinds)[number];

export interface VerifyProblem {
  kind: ProblemKind;
  /** 1-based line of the file; null when the problem is not at one line (a manifest total). */
  line: number | null;
  message: string;
  streamId?: string;
  streamPosition?: number;
}

export type SignatureStatus = 'valid' | 'invalid' | 'unchecked' | 'missing';

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

/** Unlinked events kept per stream before the verifier decides what broke its chain. */
const PENDING_LIMIT = 256;
/** Confirmed events remembered per stream, to tell a forged event from the real one. */
const RECENT = 32;

interface ChainNode {
  pos: number;
  hash: string;
  prevHash: string;
  line: number;
}

class StreamChain {
  /** Where the chain starts: the position before the first exported event and its hash. */
  root: ChainNode;
  tip: ChainNode;
  count = 0;
  readonly firstLine: number;
  private recent: ChainNode[];
  private pending: ChainNode[] = [];

  constructor(
    readonly streamId: string,
    first: ChainNode,
    private readonly report: (problem: VerifyProblem) => void,
    private readonly brokenLinesBetween: (from: number, to: number) => number,
  ) {
    this.root = { pos: first.pos - 1, hash: first.prevHash, prevHash: '', line: 0 };
    this.tip = this.root;
    this.recent = [this.root];
    this.firstLine = first.line;
    if (first.pos === 0 && first.prevHash !== GENESIS_HASH) {
      this.problem('edited', first, 'position 0 must chain on 64 zeros');
    }
    this.accept(first);
  }

  private problem(kind: ProblemKind, node: ChainNode, message: string) {
    this.report({ kind, line: node.line, message, streamId: this.streamId, streamPosition: node.pos });
  }

  private accept(node: ChainNode) {
    if (node.line < this.tip.line) {
      this.problem(
        'reordered',
        node,
        `position ${node.pos} comes before position ${this.tip.pos} (line ${this.tip.line}) in the file`,
      );
    }
    this.tip = node;
    this.count++;
    this.recent.push(node);
    if (this.recent.length > RECENT) this.recent.shift();
  }

  private linksToTip(node: ChainNode): boolean {
    return node.pos === this.tip.pos + 1 && node.prevHash === this.tip.hash;
  }

  private hasDescendant(node: ChainNode): boolean {
    return this.pending.some((other) => other.prevHash === node.hash && other.pos === node.pos + 1);
  }

  private remove(node: ChainNode) {
    this.pending.splice(this.pending.indexOf(node), 1);
  }

  /** An event of this stream, in file order. `edited`: its hash did not recompute (reported). */
  add(node: ChainNode, edited: boolean) {
    if (node.pos === this.root.pos && node.hash === this.root.hash && !edited) {
      // The event the stream's first line chains on, coming after it: the chain grows backwards.
      this.report({
        kind: 'reordered',
        line: this.firstLine,
        message: `position ${node.pos + 1} comes before position ${node.pos} (line ${node.line}) in the file`,
        streamId: this.streamId,
        streamPosition: node.pos + 1,
      });
      if (node.pos === 0 && node.prevHash !== GENESIS_HASH) {
        this.problem('edited', node, 'position 0 must chain on 64 zeros');
      }
      this.root = { pos: node.pos - 1, hash: node.prevHash, prevHash: '', line: 0 };
      this.count++;
      return;
    }
    if (edited && this.pending.length === 0 && !this.linksToTip(node)) {
      // Its content is untrusted (the edit is reported): assume it is the event that belongs
      // here, so that one edit is one problem.
      node.pos = this.tip.pos + 1;
      node.prevHash = this.tip.hash;
    }
    if (this.pending.length === 0 && this.linksToTip(node)) {
      this.accept(node);
      return;
    }
    this.pending.push(node);
    this.extend();
    if (this.pending.length > PENDING_LIMIT) this.settle(null);
  }

  /** Accepts pending events that continue the chain; waits at a fork until one branch grows. */
  private extend() {
    for (;;) {
      const children = this.pending.filter((node) => this.linksToTip(node));
      if (children.length === 0) return;
      let winner: ChainNode | undefined;
      if (children.length === 1) winner = children[0];
      else {
        const growing = children.filter((child) => this.hasDescendant(child));
        if (growing.length !== 1) return;
        winner = growing[0];
      }
      for (const child of children) {
        this.remove(child);
        if (child !== winner) this.forked(child, winner!);
      }
      this.accept(winner!);
    }
  }

  private forked(loser: ChainNode, winner: ChainNode) {
    this.problem(
      'inserted',
      loser,
      `a second event at position ${loser.pos}; the chain continues from the one at line ${winner.line}`,
    );
  }

  /**
   * Decides every pending event: at the end of the file (`head`: the manifest's head hash for
   * the stream, if known) or when too many are waiting.
   */
  settle(head: string | null) {
    for (;;) {
      this.extend();
      if (this.pending.length === 0) return;
      const children = this.pending.filter((node) => this.linksToTip(node));
      if (children.length > 1) {
        const winner =
          children.find((child) => child.hash === head) ??
          children.reduce((a, b) => (a.line < b.line ? a : b));
        for (const child of children) {
          this.remove(child);
          if (child !== winner) this.forked(child, winner);
        }
        this.accept(winner);
        continue;
      }
      const next = this.pending.reduce((a, b) =>
        a.pos < b.pos || (a.pos === b.pos && a.line < b.line) ? a : b,
      );
      this.remove(next);
      const tip = this.tip;
      const proven = this.hasDescendant(next) || next.hash === head;
      if (next.pos > tip.pos + 1) {
        const missing = next.pos - tip.pos - 1;
        if (this.brokenLinesBetween(tip.line, next.line) < missing) {
          const range =
            missing === 1 ? `position ${tip.pos + 1} is` : `positions ${tip.pos + 1}–${next.pos - 1} are`;
          this.problem(
            'deleted',
            next,
            `${range} missing before this line (the previous event is at line ${tip.line})`,
          );
        }
        this.tip = { ...tip, pos: next.pos - 1, hash: next.prevHash };
        this.accept(next);
      } else if (next.pos === tip.pos + 1) {
        if (proven) {
          this.problem(
            'edited',
            tip,
            `this event's hash recomputes, but the chain continues (line ${next.line}) from another hash: the event was replaced and re-hashed`,
          );
          this.tip = { ...tip, hash: next.prevHash };
          this.accept(next);
        } else {
          this.problem(
            'inserted',
            next,
            `does not link to position ${tip.pos} (line ${tip.line}): prevHash differs`,
          );
        }
      } else {
        const twin = this.recent.find((node) => node.pos === next.pos && node.line > 0);
        if (twin && twin === tip && twin.prevHash === next.prevHash && proven) {
          // The accepted event was the forged one: the chain continues from this one.
          this.problem(
            'inserted',
            twin,
            `a second event at position ${twin.pos}; the chain continues from line ${next.line}`,
          );
          this.recent.pop();
          this.count--;
          this.tip = this.recent.at(-1)!;
          this.accept(next);
        } else {
          this.problem(
            'inserted',
            next,
            `position ${next.pos} does not fit: the stream is already at position ${tip.pos} (line ${tip.line})`,
          );
        }
      }
    }
  }
}

const ENVELOPE_KEYS = new Set([
  'eventId',
  'streamId',
  'streamPosition',
  'globalPosition',
  'type',
  'schemaVersion',
  'data',
  'metadata',
  'recordedAt',
  'prevHash',
  'hash',
]);
const CLOUD_EVENT_REQUIRED = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'data',
  'aosstreamposition',
  'aosglobalposition',
  'aosschemaversion',
  'aosprevhash',
  'aoshash',
  'aostenantid',
];
const CLOUD_EVENT_KEYS = new Set([
  ...CLOUD_EVENT_REQUIRED,
  'aoscorrelationid',
  'aoscausationid',
  'aosactor',
  'aoscommandid',
  'aostraceid',
  'aosspanid',
]);

/** Fields the hash does not cover must still be exactly what the exporter writes. */
function envelopeProblem(value: object, cloudEvent: boolean): string | null {
  const allowed = cloudEvent ? CLOUD_EVENT_KEYS : ENVELOPE_KEYS;
  let known = 0;
  for (const key in value) {
    if (!allowed.has(key)) return `unexpected field ${JSON.stringify(key)}`;
    known++;
  }
  if (!cloudEvent) return known === ENVELOPE_KEYS.size ? null : 'a field of the envelope is missing';
  const ce = value as Record<string, unknown>;
  for (const key of CLOUD_EVENT_REQUIRED) if (!(key in ce)) return `CloudEvent attribute ${key} is missing`;
  if (ce.specversion !== '1.0') return 'specversion is not 1.0';
  if (ce.datacontenttype !== 'application/json') return 'datacontenttype is not application/json';
  if (ce.source !== `/aos/tenants/${encodeURIComponent(String(ce.aostenantid))}`)
    return 'source does not name the tenant';
  return null;
}

function isHex64(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

/** Push the file's lines one by one, then `finish()`. */
export class ExportVerifier {
  private lineNumber = 0;
  private events = 0;
  private jsonl = 0;
  private cloudEvents = 0;
  private readonly merkle = new MerkleBuilder();
  private readonly globalPositions = createHash('sha256');
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

  line(text: string): void {
    const line = ++this.lineNumber;
    if (text.trim() === '') return;
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
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.broken(line, `not JSON: ${(error as Error).message}`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.broken(line, 'not a JSON object');
      return;
    }
    if ('manifest' in value) {
      this.manifest = (value as { manifest: ExportManifest }).manifest;
      this.manifestLine = line;
      return;
    }
    let event: RecordedEvent;
    const cloudEvent = isCloudEvent(value);
    if (cloudEvent) {
      this.cloudEvents++;
      event = fromCloudEvent(value);
    } else {
      this.jsonl++;
      event = value as RecordedEvent;
    }
    const { streamId, streamPosition, hash, prevHash, globalPosition } = event;
    if (
      typeof streamId !== 'string' ||
      !Number.isSafeInteger(streamPosition) ||
      streamPosition < 0 ||
      !isHex64(hash) ||
      !isHex64(prevHash)
    ) {
      this.broken(line, 'not an event: streamId, streamPosition, hash or prevHash is missing or malformed');
      return;
    }
    this.events++;
    this.merkle.add(hash);
    this.globalPositions.update(`${globalPosition}\n`);
    this.firstGlobalPosition ??= String(globalPosition);
    this.lastGlobalPosition = String(globalPosition);
    const malformed =
      envelopeProblem(value, cloudEvent) ??
      (typeof globalPosition === 'string' && /^[0-9]+$/.test(globalPosition)
        ? null
        : 'globalPosition is not a decimal string');
    if (malformed) {
      this.report({ kind: 'edited', line, message: malformed, streamId, streamPosition });
    }
    let recomputed: string | null;
    try {
      recomputed = eventHash(event);
    } catch {
      recomputed = null;
    }
    const edited = recomputed !== hash;
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
      this.checkManifest(manifest, merkleRoot);
      signature = this.checkSignature(manifest, publicKeyId);
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

  private checkManifest(manifest: ExportManifest, merkleRoot: string) {
    const at = this.manifestLine;
    const before = this.problems.length;
    const mismatch = (message: string) => this.report({ kind: 'manifest_mismatch', line: at, message });
    if (manifest.formatVersion !== EXPORT_FORMAT_VERSION) {
      mismatch(
        `format version ${manifest.formatVersion}; this verifier reads version ${EXPORT_FORMAT_VERSION}`,
      );
    }
    const listed = manifest.streams ?? {};
    for (const [streamId, chain] of this.streams) {
      const expected = listed[streamId];
      if (!expected) {
        this.report({
          kind: 'inserted',
          line: chain.firstLine,
          message: `stream ${streamId} is not in the manifest`,
          streamId,
        });
        chain.settle(null);
        continue;
      }
      chain.settle(expected.headHash);
      this.compareStream(streamId, chain, expected);
    }
    for (const [streamId, expected] of Object.entries(listed)) {
      if (this.streams.has(streamId)) continue;
      this.report({
        kind: 'deleted',
        line: null,
        message: `stream ${streamId}: all ${expected.count} events (positions ${expected.firstPosition}–${expected.lastPosition}) are missing`,
        streamId,
      });
    }
    if (manifest.count !== this.events) {
      mismatch(`the file holds ${this.events} events; the manifest says ${manifest.count}`);
    }
    if (manifest.firstGlobalPosition !== this.firstGlobalPosition) {
      mismatch(
        `the first event is at global position ${this.firstGlobalPosition}; the manifest says ${manifest.firstGlobalPosition}`,
      );
    }
    if (manifest.lastGlobalPosition !== this.lastGlobalPosition) {
      mismatch(
        `the last event is at global position ${this.lastGlobalPosition}; the manifest says ${manifest.lastGlobalPosition}`,
      );
    }
    const positionsChanged =
      manifest.globalPositionsHash !== undefined &&
      manifest.globalPositionsHash !== this.globalPositions.digest('hex');
    if (
      manifest.merkleRoot !== merkleRoot &&
      this.problems.length === before &&
      this.problemsBeforeManifest() === 0
    ) {
      // Every stream's chain, count and head hold, so the same events are there: only their
      // order across streams differs from the order that was signed.
      this.report({
        kind: 'reordered',
        line: null,
        message:
          'the Merkle root differs although every stream holds: events of different streams were reordered',
      });
      return;
    }
    if (positionsChanged) {
      this.report({
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

  private problemsBeforeManifest(): number {
    return this.problems.filter((p) => p.line !== null && p.line < this.manifestLine).length;
  }

  private compareStream(streamId: string, chain: StreamChain, expected: ExportManifest['streams'][string]) {
    const base = { streamId };
    const firstPosition = chain.root.pos + 1;
    if (firstPosition > expected.firstPosition) {
      this.report({
        ...base,
        kind: 'deleted',
        line: chain.firstLine,
        streamPosition: firstPosition,
        message: `stream ${streamId} starts at position ${firstPosition}; the manifest says ${expected.firstPosition}: its first events are missing`,
      });
    } else if (firstPosition < expected.firstPosition) {
      this.report({
        ...base,
        kind: 'inserted',
        line: chain.firstLine,
        streamPosition: firstPosition,
        message: `stream ${streamId} starts at position ${firstPosition}; the manifest says ${expected.firstPosition}`,
      });
    } else if (chain.root.hash !== expected.firstPrevHash) {
      this.report({
        ...base,
        kind: 'manifest_mismatch',
        line: chain.firstLine,
        message: `stream ${streamId}'s first event chains on ${chain.root.hash}; the manifest says ${expected.firstPrevHash}`,
      });
    }
    const tip = chain.tip;
    if (tip.pos < expected.lastPosition) {
      this.report({
        ...base,
        kind: 'deleted',
        line: null,
        streamPosition: tip.pos + 1,
        message: `stream ${streamId} ends at position ${tip.pos} (line ${tip.line}); the manifest says ${expected.lastPosition}: its last events are missing`,
      });
    } else if (tip.pos > expected.lastPosition) {
      this.report({
        ...base,
        kind: 'inserted',
        line: tip.line,
        streamPosition: tip.pos,
        message: `stream ${streamId} goes on to position ${tip.pos}; the manifest says it ends at ${expected.lastPosition}`,
      });
    } else if (tip.hash !== expected.headHash) {
      this.report({
        ...base,
        kind: 'edited',
        line: tip.line,
        streamPosition: tip.pos,
        message: `stream ${streamId}'s last event has hash ${tip.hash}; the manifest's head is ${expected.headHash}: the event was replaced`,
      });
    } else if (chain.count !== expected.count) {
      this.report({
        ...base,
        kind: 'manifest_mismatch',
        line: null,
        message: `stream ${streamId} has ${chain.count} events in its chain; the manifest says ${expected.count}`,
      });
    }
  }

  private checkSignature(manifest: ExportManifest, publicKeyId: string | null): SignatureStatus {
    const publicKey = this.options.publicKey;
    if (!publicKey) return 'unchecked';
    const at = this.manifestLine;
    if (manifest.algorithm !== 'Ed25519') {
      this.report({
        kind: 'bad_signature',
        line: at,
        message: `algorithm ${manifest.algorithm}; only Ed25519 is accepted`,
      });
      return 'invalid';
    }
    if (manifest.keyId !== publicKeyId) {
      this.report({
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
      this.report({ kind: 'bad_signature', line: at, message: 'the manifest cannot be canonicalised' });
      return 'invalid';
    }
    if (typeof manifest.signature !== 'string' || !verifySignature(publicKey, payload, manifest.signature)) {
      this.report({
        kind: 'bad_signature',
        line: at,
        message:
          'the signature does not match the manifest: the manifest was changed or signed by another key',
      });
      return 'invalid';
    }
    return 'valid';
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
