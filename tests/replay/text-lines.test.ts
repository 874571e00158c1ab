// Reading an export's text as lines: a line may be cut anywhere between chunks, may end in
// "\r\n", may be blank, and the last one may have no newline.
import { describe, expect, it } from 'vitest';
import { forEachLine, forEachLineBlock } from '../../replay/text-lines.ts';

async function* chunksOf(...chunks: string[]) {
  yield* chunks;
}

describe('reading text as lines', () => {
  const chunks = ['a\r\nb', 'c\n\nd', 'e', '\r\nf'];

  it('gives each line once, across chunks, without "\\n" or "\\r"', async () => {
    const lines: string[] = [];
    const read: number[] = [];
    await forEachLine(
      chunksOf(...chunks),
      (line) => lines.push(line),
      (length) => read.push(length),
    );
    expect(lines).toEqual(['a', 'bc', '', 'de', 'f']);
    expect(read).toEqual([4, 4, 1, 3]);
  });

  it('gives blocks of whole lines, one per chunk that ends a line, and the rest at the end', async () => {
    const blocks: string[] = [];
    await forEachLineBlock(chunksOf(...chunks), (text) => {
      blocks.push(text);
    });
    expect(blocks).toEqual(['a\r', 'bc\n', 'de\r', 'f']);
  });

  it('reads nothing from nothing, and no blank line after a last newline', async () => {
    const lines: string[] = [];
    await forEachLine(chunksOf(), (line) => lines.push(line));
    await forEachLine(chunksOf('x\n'), (line) => lines.push(line));
    expect(lines).toEqual(['x']);
  });
});
