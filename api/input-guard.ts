// Input every route refuses before its schema is checked, with a 400 in the one error shape:
// - NUL characters (PostgreSQL text and jsonb cannot hold them: a database error, a 500);
// - lone UTF-16 surrogates ("\ud800" in JSON): no UTF-8 text can hold them, so hashing and
//   the database would fail on them further on;
// - `__proto__` keys, and `prototype` under `constructor` (prototype poisoning): fastify's
//   JSON parser lets them through (onProtoPoisoning: 'ignore', see server.ts) so that they
//   are refused here with the key's path, instead of a bare "not valid JSON";
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

type Problem = 'nul' | 'surrogate' | 'proto' | 'too_deep';

const messages: Record<Problem, string> = {
  nul: 'must not contain NUL (\\u0000) characters',
  surrogate: 'must not contain lone UTF-16 surrogates (e.g. \\ud800)',
  proto: 'must not have a __proto__ key, nor constructor.prototype',
  too_deep: `must not nest deeper than ${MAX_INPUT_DEPTH} levels`,
};

function textProblem(text: string): Problem | null {
  if (text.includes('\u0000')) return 'nul';
  return text.isWellFormed() ? null : 'surrogate';
}

function keyProblem(key: string, parent: Node): Problem | null {
  if (key === '__proto__' || (key === 'prototype' && parent.key === 'constructor')) return 'proto';
  return textProblem(key);
}

/** The first problem in a parsed input, with its path. Iterative: bodies may nest deeply. */
export function inputProblem(value: unknown): { path: Path; code: Problem } | null {
  const stack: Node[] = [{ value, depth: 0, parent: null, key: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const current = node.value;
    if (typeof current === 'string') {
      const code = textProblem(current);
      if (code) return { path: pathOf(node), code };
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
      const code = keyProblem(key, node);
      if (code) return { path: [...pathOf(node), key], code };
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
      const message = messages[problem.code];
      const at = problem.path.length > 0 ? ` (at ${problem.path.join('.')})` : '';
      throw new HttpError(400, 'INVALID_INPUT', `invalid ${where}: ${message}${at}`, {
        in: where,
        issues: [{ path: problem.path, code: problem.code, message }],
      });
    }
  });
}
