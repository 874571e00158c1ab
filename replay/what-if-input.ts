// The alternative price table or policy of a what-if, read from a JSON file and checked
// against the domain's schemas; a bad file is refused with the path of what is wrong.
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { type HashedPolicy, policySchema, withPolicyHash } from '../domain/policy.ts';
import { type HashedPriceTable, priceTableSchema, withPriceTableHash } from '../domain/pricing.ts';

export class WhatIfInputError extends Error {
  override readonly name = 'WhatIfInputError';
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new WhatIfInputError(`cannot read the ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WhatIfInputError(`the ${what} ${path} is not JSON: ${(error as Error).message}`);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, path: string, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`,
  );
  throw new WhatIfInputError(`the ${what} ${path} is not valid: ${issues.join('; ')}`);
}

/** A price table: {"version": "...", "models": {"<model>": {inputMicrosPerMillion, …}, "unknown": …}}. */
export async function readPriceTable(path: string): Promise<HashedPriceTable> {
  const value = await readJson(path, 'price table');
  return withPriceTableHash(parse(priceTableSchema, value, path, 'price table'));
}

/** A policy: {"version": "...", "rules": {…}} (domain/policy.ts). */
export async function readPolicy(path: string): Promise<HashedPolicy> {
  const value = await readJson(path, 'policy');
  return withPolicyHash(parse(policySchema, value, path, 'policy'));
}
