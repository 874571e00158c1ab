// An export's text as lines: read in chunks (UTF-8 decoded across chunk boundaries), cut into
// blocks of whole lines, and blocks into lines. A line never includes its "\n", nor a "\r"
// before it. `aos verify`, replay's event source and the benches' anchors all read this way.

/** Calls `onLine` for each line of `text` (lines joined by "\n"). */
export function eachLineOf(text: string, onLine: (line: string) => void): void {
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n', start);
    const stop = end === -1 ? text.length : end;
    onLine(text.slice(start, text.charCodeAt(stop - 1) === 13 ? stop - 1 : stop));
    if (end === -1) return;
    start = end + 1;
  }
}

/**
 * Calls `onBlock` with the text of whole lines (joined by "\n", without the last one's), one
 * block per chunk read, and the end of the file after its last newline as a block of its own.
 */
export async function forEachLineBlock(
  chunks: AsyncIterable<string>,
  onBlock: (text: string) => void | Promise<void>,
  onChunk?: (chunkLength: number) => void,
): Promise<void> {
  let rest = '';
  for await (const chunk of chunks) {
    const text = rest === '' ? chunk : rest + chunk;
    const end = text.lastIndexOf('\n');
    if (end === -1) rest = text;
    else {
      rest = text.slice(end + 1);
      await onBlock(text.slice(0, end));
    }
    onChunk?.(chunk.length);
  }
  if (rest !== '') await onBlock(rest);
}

/** Calls `onLine` for every line of the text stream. */
export function forEachLine(
  chunks: AsyncIterable<string>,
  onLine: (line: string) => void,
  onChunk?: (chunkLength: number) => void,
): Promise<void> {
  return forEachLineBlock(chunks, (text) => eachLineOf(text, onLine), onChunk);
}
