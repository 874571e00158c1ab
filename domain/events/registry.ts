// A registry from (event type, schema version) to its zod schema, with one upcaster per
// version step. New events are always written at the latest version; old events are
// upcast on read, step by step (v1 → v2 → … → latest), and checked against each schema.
import type { z } from 'zod';
import { DomainError } from '../domain-error.ts';

export type Upcaster = (previous: unknown) => unknown;

interface Registration {
  schema: z.ZodType;
  /** Turns data of the previous version into this version's; absent for version 1. */
  upcastFromPrevious?: Upcaster;
}

export interface EventIssue {
  path: string;
  message: string;
}

/** A payload that does not match its schema. Names the type, version and every failing path. */
export class EventValidationError extends DomainError {
  readonly eventType: string;
  readonly issues: EventIssue[];

  constructor(eventType: string, schemaVersion: number, issues: EventIssue[]) {
    const listed = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    super('SCHEMA_VALIDATION_FAILED', `invalid ${eventType} v${schemaVersion} event: ${listed}`, {
      type: eventType,
      schemaVersion,
      issues,
    });
    this.name = 'EventValidationError';
    this.eventType = eventType;
    this.issues = issues;
  }
}

/** An event type the catalog does not know, refused before it reaches the store. */
export class UnknownEventTypeError extends DomainError {
  constructor(eventType: string, knownTypes: string[]) {
    super('SCHEMA_VALIDATION_FAILED', `unknown event type ${JSON.stringify(eventType)}`, {
      type: eventType,
      knownTypes,
    });
    this.name = 'UnknownEventTypeError';
  }
}

export class UnknownSchemaVersionError extends DomainError {
  constructor(eventType: string, schemaVersion: number, latest: number) {
    super(
      'SCHEMA_VALIDATION_FAILED',
      `${eventType} has no schema version ${schemaVersion} (latest ${latest})`,
      {
        type: eventType,
        schemaVersion,
        latestVersion: latest,
      },
    );
    this.name = 'UnknownSchemaVersionError';
  }
}

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return ['data', ...path.map(String)].join('.');
}

export interface ValidatedEvent<Data = unknown> {
  type: string;
  schemaVersion: number;
  data: Data;
}

export class EventRegistry {
  readonly #types = new Map<string, Registration[]>();

  /**
   * Registers version `version` of `type`. Versions are added in order from 1; every version
   * after the first needs the upcaster from the one before, so old events stay readable.
   */
  register(type: string, version: number, schema: z.ZodType, upcastFromPrevious?: Upcaster): this {
    const versions = this.#types.get(type) ?? [];
    if (version !== versions.length + 1) {
      throw new Error(`${type}: expected to register version ${versions.length + 1}, got ${version}`);
    }
    if (version > 1 && !upcastFromPrevious) {
      throw new Error(`${type} v${version} needs an upcaster from v${version - 1}`);
    }
    versions.push(upcastFromPrevious ? { schema, upcastFromPrevious } : { schema });
    this.#types.set(type, versions);
    return this;
  }

  has(type: string): boolean {
    return this.#types.has(type);
  }

  types(): string[] {
    return [...this.#types.keys()];
  }

  latestVersion(type: string): number {
    return this.#versionsOf(type).length;
  }

  schemaFor(type: string, schemaVersion: number): z.ZodType {
    const versions = this.#versionsOf(type);
    const registration = versions[schemaVersion - 1];
    if (!registration) throw new UnknownSchemaVersionError(type, schemaVersion, versions.length);
    return registration.schema;
  }

  /** Checks a new event against the latest schema; returns the parsed data stamped with its version. */
  validateNewEvent(event: { type: string; data: unknown }): ValidatedEvent {
    const schemaVersion = this.latestVersion(event.type);
    return { type: event.type, schemaVersion, data: this.#parse(event.type, schemaVersion, event.data) };
  }

  /** Brings recorded data of any registered version up to the latest version. */
  upcast(type: string, schemaVersion: number, data: unknown): unknown {
    const versions = this.#versionsOf(type);
    let current = this.#parse(type, schemaVersion, data);
    for (let version = schemaVersion + 1; version <= versions.length; version++) {
      const upcaster = versions[version - 1]!.upcastFromPrevious!;
      current = this.#parse(type, version, upcaster(current));
    }
    return current;
  }

  /** A copy to extend (tests register a v2 there without touching the shared catalog). */
  clone(): EventRegistry {
    const copy = new EventRegistry();
    for (const [type, versions] of this.#types) copy.#types.set(type, [...versions]);
    return copy;
  }

  #versionsOf(type: string): Registration[] {
    const versions = this.#types.get(type);
    if (!versions) throw new UnknownEventTypeError(type, this.types());
    return versions;
  }

  #parse(type: string, schemaVersion: number, data: unknown): unknown {
    const result = this.schemaFor(type, schemaVersion).safeParse(data);
    if (result.success) return result.data;
    throw new EventValidationError(
      type,
      schemaVersion,
      result.error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message })),
    );
  }
}
