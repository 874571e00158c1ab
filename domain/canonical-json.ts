// RFC 8785 canonical JSON, byte for byte what the `canonicalize` package writes, mostly
// without it. Canonical JSON differs from JSON.stringify's output only in the order of object
// keys (sorted by UTF-16 code units) and in refusing what is not JSON (NaN, Infinity, lone
// surrogates), and JSON.stringify is native and several times faster than the package's
// recursion. So a value holding only JSON values is put in key order — copying only the
// objects that are not in order already, as an export's lines are (replay/export.ts writes
// them so) — and JSON.stringify writes it. Anything else (integer-like keys out of order,
// which V8 always lists first; class instances, `toJSON`, undefined, cycles, lone
// surrogates, deep nesting) goes to the package, which gives the reference answer or throws.
import canonicalize from 'canonicalize';

/** Deeper than this, the package decides (and finds a cycle, if that is why). */
const MAX_DEPTH = 100;
const UNSUPPORTED = Symbol('unsupported');

/** V8 lists such keys first, in numeric order, whatever order they were written in. */
function isArrayIndex(key: string): boolean {
  const index = Number(key) >>> 0;
  return String(index) === key && index !== 0xffffffff;
}

function inKeyOrder(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? value : UNSUPPORTED;
    case 'number':
      return Number.isFinite(value) ? value : UNSUPPORTED;
    case 'boolean':
      return value;
    case 'object':
      if (value === null) return value;
      if (depth > MAX_DEPTH) return UNSUPPORTED;
      break;
    default:
      return UNSUPPORTED;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype === Array.prototype) return arrayInKeyOrder(value as unknown[], depth);
  if (prototype !== Object.prototype && prototype !== null) return UNSUPPORTED;
  return objectInKeyOrder(value as Record<string, unknown>, depth);
}

function arrayInKeyOrder(array: unknown[], depth: number): unknown {
  let copy: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const element = array[i];
    const ordered = inKeyOrder(element, depth + 1);
    if (ordered === UNSUPPORTED) return UNSUPPORTED;
    if (ordered !== element) {
      copy ??= array.slice(0, i);
    }
    if (copy) copy.push(ordered);
  }
  return copy ?? array;
}

function objectInKeyOrder(object: Record<string, unknown>, depth: number): unknown {
  const keys = Object.keys(object);
  let sorted = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!key.isWellFormed()) return UNSUPPORTED;
    if (i > 0 && !(keys[i - 1]! < key)) sorted = false;
  }
  let values: unknown[] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const value = object[keys[i]!];
    const ordered = inKeyOrder(value, depth + 1);
    if (ordered === UNSUPPORTED) return UNSUPPORTED;
    if (ordered !== value) values ??= keys.slice(0, i).map((key) => object[key]);
    if (values) values.push(ordered);
  }
  return keyOrderedObject(object, keys, sorted, values) ?? UNSUPPORTED;
}

/**
 * `object` ready for JSON.stringify to write as canonical JSON, given its own keys
 * (Object.keys), whether they are in canonical order already, and its values put in key order
 * where any of them changed (absent: its own): the object itself when nothing moved, else a
 * copy with its keys in canonical order; undefined where V8 cannot hold that order (integer-like
 * keys out of it). Shared with the append's validation, which orders keys as it checks them.
 */
export function keyOrderedObject(
  object: Record<string, unknown>,
  keys: string[],
  sorted: boolean,
  values: unknown[] | undefined,
): Record<string, unknown> | undefined {
  if (sorted && !values) return object;
  if (!sorted && keys.some(isArrayIndex)) return undefined;
  const order = keys.map((_, i) => i);
  if (!sorted) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  // No prototype: a key named __proto__ stays a key.
  const copy: Record<string, unknown> = Object.create(null);
  for (const i of order) copy[keys[i]!] = values ? values[i] : object[keys[i]!];
  return copy;
}

/**
 * The value with every object's keys in canonical order, so that JSON.stringify writes it
 * as canonicalJson would (an export's lines: their reader then hashes them the fast way);
 * the value itself where that cannot be done.
 */
export function inCanonicalKeyOrder<T>(value: T): T {
  const ordered = inKeyOrder(value, 0);
  return ordered === UNSUPPORTED ? value : (ordered as T);
}

/** RFC 8785 canonical JSON; the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  const ordered = inKeyOrder(value, 0);
  if (ordered !== UNSUPPORTED) return JSON.stringify(ordered);
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalised as JSON');
  return text;
}
