// Checks an append before anything touches storage, so bad input writes nothing and the
// error names what is wrong. Every adapter calls this first.
import { keyOrderedObject } from '../canonical-json.ts';
import { type EventMetadata, type ExpectedVersion, eventMetadataSchema, type NewEvent } from './envelope.ts';
import type { EventJson } from './hash-chain.ts';
import { InvalidInputError } from './store-errors.ts';

export const MAX_STREAM_ID_LENGTH = 200;
export const DEFAULT_MAX_EVENT_BYTES = 1_048_576;
const MAX_EVENTS_PER_APPEND = 10_000;
const MAX_DEPTH = 64;
const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.]{0,127}$/;

export interface AppendLimits {
  maxEventBytes: number;
}

export function validateStreamId(streamId: unknown): string {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidInputError('streamId', 'must be a non-empty string');
  }
  if (streamId.length > MAX_STREAM_ID_LENGTH) {
    throw new InvalidInputError('streamId', `longer than ${MAX_STREAM_ID_LENGTH} characters`);
  }
  if (!STREAM_ID.test(streamId)) {
    throw new InvalidInputError('streamId', 'may contain only letters, digits and _ . : @ - (not first)');
  }
  return streamId;
}

export function validateExpectedVersion(expected: unknown): ExpectedVersion {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return expected;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= -1) return expected;
  throw new InvalidInputError(
    'expectedVersion',
    `must be an integer >= -1, "no_stream", "stream_exists" or "any"; got ${JSON.stringify(expected) ?? String(expected)}`,
  );
}

/**
 * A checked event: its data and metadata are plain JSON, written once as `json` (what the
 * store sends), and `canonical` when that text is their canonical JSON (what the hash chain
 * hashes): always, but where integer-like keys stand out of canonical order.
 */
export interface ValidatedEvent extends NewEvent {
  json: EventJson;
  canonical: boolean;
}

/** Validates a whole append; returns events whose data and metadata are plain JSON. */
export function validateAppend(
  streamId: unknown,
  events: readonly NewEvent[],
  expectedVersion: unknown,
  limits: AppendLimits,
): { streamId: string; expectedVersion: ExpectedVersion; events: ValidatedEvent[]; tenantId: string } {
  const id = validateStreamId(streamId);
  const expected = validateExpectedVersion(expectedVersion);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidInputError('events', 'must be a non-empty array');
  }
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidInputError('events', `at most ${MAX_EVENTS_PER_APPEND} events per append`);
  }
  const seen = new Set<string>();
  const metadataOf = metadataCheck();
  const checked = events.map((event, i) => {
    const checkedEvent = validateEvent(event, `events[${i}]`, limits, metadataOf);
    if (seen.has(checkedEvent.eventId)) {
      throw new InvalidInputError(`events[${i}].eventId`, 'repeated within the append');
    }
    seen.add(checkedEvent.eventId);
    return checkedEvent;
  });
  const tenantId = checked[0]!.metadata.tenantId;
  const other = checked.findIndex((e) => e.metadata.tenantId !== tenantId);
  if (other >= 0) {
    throw new InvalidInputError(
      `events[${other}].metadata.tenantId`,
      'all events of an append belong to one tenant',
    );
  }
  return { streamId: id, expectedVersion: expected, events: checked, tenantId };
}

function validateEvent(
  event: NewEvent,
  path: string,
  limits: AppendLimits,
  metadataOf: MetadataCheck,
): ValidatedEvent {
  if (typeof event !== 'object' || event === null) throw new InvalidInputError(path, 'must be an object');
  if (typeof event.eventId !== 'string' || !UUID.test(event.eventId)) {
    throw new InvalidInputError(`${path}.eventId`, 'must be a lower-case UUID');
  }
  if (typeof event.type !== 'string' || !EVENT_TYPE.test(event.type)) {
    throw new InvalidInputError(`${path}.type`, 'must be a name of letters, digits, _ and . (at most 128)');
  }
  if (!Number.isSafeInteger(event.schemaVersion) || event.schemaVersion < 1) {
    throw new InvalidInputError(`${path}.schemaVersion`, 'must be an integer >= 1');
  }
  const data = plainJsonInKeyOrder(event.data, `${path}.data`);
  const metadata = metadataOf(event.metadata, `${path}.metadata`);
  // In canonical key order where V8 can hold it; the data's length is the same either way.
  const json = { data: JSON.stringify(data === NOT_ORDERABLE ? event.data : data), metadata: metadata.json };
  const bytes = Buffer.byteLength(json.data);
  if (bytes > limits.maxEventBytes) {
    throw new InvalidInputError(
      `${path}.data`,
      `${bytes} bytes is over the limit of ${limits.maxEventBytes}`,
    );
  }
  return {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: metadata.value,
    json,
    canonical: data !== NOT_ORDERABLE && metadata.canonical,
  };
}

interface CheckedMetadata {
  value: EventMetadata;
  json: string;
  canonical: boolean;
}
type MetadataCheck = (metadata: unknown, path: string) => CheckedMetadata;

/** Checks metadata; the events of an append that share one metadata object have it checked once. */
function metadataCheck(): MetadataCheck {
  let last: { metadata: unknown; checked: CheckedMetadata } | undefined;
  return (metadata, path) => {
    if (!last || last.metadata !== metadata) last = { metadata, checked: checkMetadata(metadata, path) };
    return last.checked;
  };
}

function checkMetadata(metadata: unknown, path: string): CheckedMetadata {
  const parsed = eventMetadataSchema.safeParse(metadata);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`${path}${issue.path.map((p) => `.${String(p)}`).join('')}`, issue.message);
  }
  const ordered = plainJsonInKeyOrder(parsed.data, path);
  return {
    value: parsed.data as EventMetadata,
    json: JSON.stringify(ordered === NOT_ORDERABLE ? parsed.data : ordered),
    canonical: ordered !== NOT_ORDERABLE,
  };
}

/**
 * Only values that survive a JSON round trip unchanged, and that PostgreSQL's jsonb accepts:
 * no undefined, functions, symbols, bigints, non-finite numbers, NUL characters, lone
 * surrogates, class instances (Date, Map, …) or cycles. The hash chain depends on it.
 * The same walk puts every object's keys in canonical order (RFC 8785: by UTF-16 code units),
 * copying only the objects not in order already, so that JSON.stringify of what it returns is
 * the canonical JSON the hash chain needs — the append walks its data once, not once to check
 * it and again to hash it. Where V8 cannot hold a canonical order (integer-like keys, which it
 * always lists first, out of that order) it returns NOT_ORDERABLE after checking everything.
 * The path to a value is kept as a stack of keys and spelled out only for a refusal: every
 * append walks all its data, and building each node's path string cost more than the checks.
 */
function plainJsonInKeyOrder(value: unknown, path: string, depth = 0, at: (string | number)[] = []): unknown {
  if (depth > MAX_DEPTH) refuse(path, at, `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) refuse(path, at, `${value} is not JSON`);
    return value;
  }
  if (typeof value === 'string') {
    const problem = stringProblem(value);
    if (problem) refuse(path, at, problem);
    return value;
  }
  if (Array.isArray(value)) return arrayInKeyOrder(value, path, depth, at);
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      refuse(path, at, `a ${proto?.constructor?.name ?? 'non-plain'} object is not plain JSON`);
    }
    return objectInKeyOrder(value as Record<string, unknown>, path, depth, at);
  }
  refuse(path, at, `a ${typeof value} is not JSON`);
}

const NOT_ORDERABLE = Symbol('not orderable');

function arrayInKeyOrder(array: unknown[], path: string, depth: number, at: (string | number)[]): unknown {
  let copy: unknown[] | undefined;
  let orderable = true;
  for (let i = 0; i < array.length; i++) {
    at.push(i);
    const ordered = plainJsonInKeyOrder(array[i], path, depth + 1, at);
    at.pop();
    if (ordered === NOT_ORDERABLE) orderable = false;
    else if (ordered !== array[i]) copy ??= array.slice(0, i);
    if (copy) copy.push(ordered);
  }
  if (!orderable) return NOT_ORDERABLE;
  return copy ?? array;
}

function objectInKeyOrder(
  object: Record<string, unknown>,
  path: string,
  depth: number,
  at: (string | number)[],
): unknown {
  const keys = Object.keys(object);
  let sorted = true;
  let orderable = true;
  let values: unknown[] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const problem = stringProblem(key);
    if (problem) refuse(path, at, problem, ' key');
    if (i > 0 && !(keys[i - 1]! < key)) sorted = false;
    const item = object[key];
    at.push(key);
    if (item === undefined) refuse(path, at, 'undefined is not JSON');
    const ordered = plainJsonInKeyOrder(item, path, depth + 1, at);
    at.pop();
    if (ordered === NOT_ORDERABLE) orderable = false;
    else if (ordered !== item) values ??= keys.slice(0, i).map((k) => object[k]);
    if (values) values.push(ordered);
  }
  if (!orderable) return NOT_ORDERABLE;
  return keyOrderedObject(object, keys, sorted, values) ?? NOT_ORDERABLE;
}

function refuse(path: string, at: (string | number)[], message: string, suffix = ''): never {
  const keys = at.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
  throw new InvalidInputError(`${path}${keys}${suffix}`, message);
}

/** Why PostgreSQL could not store the string (text and jsonb hold no NUL, UTF-8 no lone surrogate). */
function stringProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (!value.isWellFormed()) return 'contains a lone UTF-16 surrogate';
  return undefined;
}
