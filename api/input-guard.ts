// Input every route refuses before its handler runs, with a 400 in the one error shape:
// - NUL characters (PostgreSQL text and jsonb cannot hold them: a database error, a 500);
// - JSON nested deeper than MAX_INPUT_DEPTH (recursive code further on — validation,
//   canonical hashing — would overflow the stack; the store refuses event data deeper
//   than 64 anyway).
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.ts';

export const MAX_INPUT_DEPTH = 100;

type Path = (string | number)[];

interface Node {
  value: unknown;
  depth: number;
  parent: Node | null;
  key: string | number | null;
}

function pathOf(node: Node): Path {
  const path: Path = [];
  for (let at: Node | null = node; at && at.key !== null; at = at.parent) path.unshift(at.key);
  return path;
}

/** The first problem in a parsed input, with its path. Iterative: bodies may nest deeply. */
export function inputProblem(value: unknown): { path: Path; code: 'nul' | 'too_deep' } | null {
  const stack: Node[] = [{ value, depth: 0, parent: null, key: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const current = node.value;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return { path: pathOf(node), code: 'nul' };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (node.depth >= MAX_INPUT_DEPTH) return { path: pathOf(node), code: 'too_deep' };
    const depth = node.depth + 1;
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--)
        stack.push({ value: current[i], depth, parent: node, key: i });
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      if (key.includes('\u0000')) return { path: [...pathOf(node), key], code: 'nul' };
      stack.push({ value: item, depth, parent: node, key });
    }
  }
  return null;
}

export function guardInput(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    for (const [where, value] of [
      ['path', request.params],
      ['query', request.query],
      ['body', request.body],
    ] as const) {
      const problem = inputProblem(value);
      if (!problem) continue;
      const message =
        problem.code === 'nul'
          ? 'must not contain NUL (\\u0000) characters'
          : `must not nest deeper than ${MAX_INPUT_DEPTH} levels`;
      throw new HttpError(400, 'INVALID_INPUT', `invalid ${where}: ${message}`, {
        issues: [{ path: problem.path, code: problem.code, message }],
      });
    }
  });
}
