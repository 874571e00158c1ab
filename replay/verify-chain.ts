// One stream's hash chain as the verifier sees it, line by line: consecutive positions, each
// prevHash the hash of the event before, starting where the manifest says the stream's export
// starts. A break is classified by what the lines around it prove (replay/verify.ts lists the
// kinds). Links are resolved with a small look-ahead (PENDING_LIMIT unlinked events), so a
// tampered stream costs a little memory and a healthy one none.
import { GENESIS_HASH } from '../domain/store/hash-chain.ts';
import type { ProblemKind, VerifyProblem } from './verify-problem.ts';

/** Unlinked events kept per stream before the verifier decides what broke its chain. */
const PENDING_LIMIT = 256;
/** Confirmed events remembered per stream, to tell a forged event from the real one. */
const RECENT = 32;

export interface ChainNode {
  pos: number;
  hash: string;
  prevHash: string;
  line: number;
}

export class StreamChain {
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
