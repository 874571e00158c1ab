// Checks an append before anything touches storage, so bad input writes nothing and the
// error names what is wrong. Every adapter calls this first.
import { type EventMetadata, type ExpectedVersion, eventMetadataSchema, type NewEvent } from './envelope.ts';
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

/** Validates a whole append; returns events whose data and metadata are plain JSON. */
export function validateAppend(
  streamId: unknown,
  events: readonly NewEvent[],
  expectedVersion: unknown,
  limits: AppendLimits,
): { streamId: string; expectedVersion: ExpectedVersion; events: NewEvent[]; tenantId: string } {
  const id = validateStreamId(streamId);
  const expected = validateExpectedVersion(expectedVersion);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidInputError('events', 'must be a non-empty array');
  }
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidInputError('events', `at most ${MAX_EVENTS_PER_APPEND} events per append`);
  }
  const seen = new Set<string>();
  const checked = events.map((event, i) => {
    const checkedEvent = validateEvent(event, `events[${i}]`, limits);
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

function validateEvent(event: NewEvent, path: string, limits: AppendLimits): NewEvent {
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
  assertPlainJson(event.data, `${path}.data`);
  const parsedMetadata = eventMetadataSchema.safeParse(event.metadata);
  if (!parsedMetadata.success) {
    const issue = parsedMetadata.error.issues[0]!;
    throw new InvalidInputError(
      `${path}.metadata${issue.path.map((p) => `.${String(p)}`).join('')}`,
      issue.message,
    );
  }
  assertPlainJson(parsedMetadata.data, `${path}.metadata`);
  const bytes = Buffer.byteLength(JSON.stringify(event.data));
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
    metadata: parsedMetadata.data as EventMetadata,
  };
}

/**
 * Only values that survive a JSON round trip unchanged, and that PostgreSQL's jsonb accepts:
 * no undefined, functions, symbols, bigints, non-finite numbers, NUL characters, lone
 * surrogates, class instances (Date, Map, …) or cycles. The hash chain depends on it.
 * The path to a value is kept as a stack of keys and spelled out only for a refusal: every
 * append walks all its data, and building each node's path string cost more than the checks.
 */
function assertPlainJson(value: unknown, path: string, depth = 0, at: (string | number)[] = []): void {
  if (depth > MAX_DEPTH) refuse(path, at, `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) refuse(path, at, `${value} is not JSON`);
    return;
  }
  if (typeof value === 'string') {
    const problem = stringProblem(value);
    if (problem) refuse(path, at, problem);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      at.push(i);
      assertPlainJson(value[i], path, depth + 1, at);
      at.pop();
    }
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      refuse(path, at, `a ${proto?.constructor?.name ?? 'non-plain'} object is not plain JSON`);
    }
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const problem = stringProblem(key);
      if (problem) refuse(path, at, problem, ' key');
      const item = (value as Record<string, unknown>)[key];
      at.push(key);
      if (item === undefined) refuse(path, at, 'undefined is not JSON');
      assertPlainJson(item, path, depth + 1, at);
      at.pop();
    }
    return;
  }
  refuse(path, at, `a ${typeof value} is not JSON`);
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
