// Price tables (stream `pricing`), tenant policies (stream `policy-<tenantId>`) and the
// failure catalog (stream `failure-catalog`) are events too, so every charge, decision and
// classification names the exact version it used. Until a tenant publishes a policy, the
// default one is in force. Putting a version in force is a command (domain/reference-data.ts
// decides it): PUT /v1/policy, PUT /v1/admin/price-tables, PUT /v1/admin/failure-catalog,
// `aos policy set`, `aos prices set`.
import { randomUUID } from 'node:crypto';
import type { Actor } from '../domain/actor.ts';
import { DomainError } from '../domain/domain-error.ts';
import {
  type FailureCatalog,
  type HashedFailureCatalog,
  withFailureCatalogHash,
} from '../domain/failure-catalog.ts';
import { defaultFailureCatalog } from '../domain/failure-catalog-default.ts';
import { defaultPolicy, type HashedPolicy, type Policy, withPolicyHash } from '../domain/policy.ts';
import {
  defaultPriceTable,
  type HashedPriceTable,
  type PriceTable,
  withPriceTableHash,
} from '../domain/pricing.ts';
import { type ReferenceEvent, referenceDecider } from '../domain/reference-data.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { handleCommand, readWholeStream } from './handle-command.ts';
import { cachedReference, forgetReference } from './reference-cache.ts';

export const PRICING_STREAM = 'pricing';
export const FAILURE_CATALOG_STREAM = 'failure-catalog';
export const policyStreamId = (tenantId: string) => `policy-${tenantId}`;
const PRICING_TENANT = 'system';

async function latest(store: EventStore, streamId: string) {
  const [event] = await store.readStream(streamId, { direction: 'backward', limit: 1 });
  return event;
}

export async function currentPriceTable(store: EventStore): Promise<HashedPriceTable> {
  const event = await cachedReference(store, PRICING_STREAM, () => latest(store, PRICING_STREAM));
  if (!event) return withPriceTableHash(defaultPriceTable);
  const { version, hash, models } = event.data as HashedPriceTable;
  return { version, hash, models };
}

export async function currentFailureCatalog(store: EventStore): Promise<HashedFailureCatalog> {
  const event = await cachedReference(store, FAILURE_CATALOG_STREAM, () =>
    latest(store, FAILURE_CATALOG_STREAM),
  );
  if (!event) return withFailureCatalogHash(defaultFailureCatalog);
  const { version, hash, entries } = event.data as HashedFailureCatalog;
  return { version, hash, entries };
}

export async function currentPolicy(store: EventStore, tenantId: string): Promise<HashedPolicy> {
  const streamId = policyStreamId(tenantId);
  const event = await cachedReference(store, streamId, () => latest(store, streamId));
  if (!event) return withPolicyHash(defaultPolicy);
  const { version, hash, rules } = event.data as HashedPolicy;
  return { version, hash, rules };
}

/**
 * The policy a call is decided by: the tenant's, with the installation's exemptions from the
 * local-address rule (AOS_HTTP_ALLOW_HOSTS) among its rules, so that simulate, submission and
 * execution (which reads it from RunSubmitted) all decide with them. Without exemptions it is
 * the tenant's policy, hash and all.
 */
export async function policyInForce(
  deps: { store: EventStore; localAllowHosts?: readonly string[] | undefined },
  tenantId: string,
): Promise<HashedPolicy> {
  const policy = await currentPolicy(deps.store, tenantId);
  const exempt = deps.localAllowHosts ?? [];
  if (exempt.length === 0) return policy;
  return withPolicyHash({
    version: policy.version,
    rules: { ...policy.rules, httpLocalAllowHosts: [...exempt] },
  });
}

/** One version as it was put in force: when, by whom, where in its stream. */
export interface InForce<T> {
  value: T;
  position: number;
  recordedAt: string;
  actor: string | null;
}

const inForceOf = <T>(event: RecordedEvent, value: T): InForce<T> => ({
  value,
  position: event.streamPosition,
  recordedAt: event.recordedAt,
  actor: event.metadata.actor ?? null,
});

const policyOf = (event: RecordedEvent) => {
  const { version, hash, rules } = event.data as HashedPolicy;
  return inForceOf<HashedPolicy>(event, { version, hash, rules });
};
const priceTableOf = (event: RecordedEvent) => {
  const { version, hash, models } = event.data as HashedPriceTable;
  return inForceOf<HashedPriceTable>(event, { version, hash, models });
};

const failureCatalogOf = (event: RecordedEvent) => {
  const { version, hash, entries } = event.data as HashedFailureCatalog;
  return inForceOf<HashedFailureCatalog>(event, { version, hash, entries });
};

/** Every version of the tenant's policy, oldest first (empty: the default has always been in force). */
export async function policyHistory(store: EventStore, tenantId: string): Promise<InForce<HashedPolicy>[]> {
  return (await readWholeStream(store, policyStreamId(tenantId))).map(policyOf);
}

/** Every price table adopted, oldest first (the first is the default, recorded at first start). */
export async function priceTableHistory(store: EventStore): Promise<InForce<HashedPriceTable>[]> {
  return (await readWholeStream(store, PRICING_STREAM)).map(priceTableOf);
}

/** Every failure catalog adopted, oldest first (the first is the default, recorded at first start). */
export async function failureCatalogHistory(store: EventStore): Promise<InForce<HashedFailureCatalog>[]> {
  return (await readWholeStream(store, FAILURE_CATALOG_STREAM)).map(failureCatalogOf);
}

export async function failureCatalogInForce(store: EventStore) {
  const event = await latest(store, FAILURE_CATALOG_STREAM);
  return event ? failureCatalogOf(event) : null;
}

/** The version now in force, or null when nothing was recorded yet. */
export async function policyVersionInForce(store: EventStore, tenantId: string) {
  const event = await latest(store, policyStreamId(tenantId));
  return event ? policyOf(event) : null;
}

export async function priceTableInForce(store: EventStore) {
  const event = await latest(store, PRICING_STREAM);
  return event ? priceTableOf(event) : null;
}

/** Puts a version in force; `changed` is false when it already was. */
async function putInForce(
  store: EventStore,
  streamId: string,
  event: ReferenceEvent,
  metadata: { tenantId: string; actor: string },
): Promise<{ changed: boolean; event: RecordedEvent }> {
  const handled = await handleCommand(
    store,
    streamId,
    referenceDecider,
    { type: 'PutInForce', event },
    // Not derived from the content: putting an earlier version back in force is a new command.
    { commandId: `put-in-force:${randomUUID()}`, metadata },
  );
  forgetReference(store, streamId);
  return { changed: handled.events.length > 0, event: (await latest(store, streamId))! };
}

const actorName = (actor: Actor) => `${actor.role}:${actor.id}`;

export async function setPolicy(store: EventStore, tenantId: string, policy: Policy, actor: Actor) {
  if (policy.rules.httpLocalAllowHosts !== undefined) {
    throw new DomainError(
      'INVALID_INPUT',
      "rules.httpLocalAllowHosts is the installation's (AOS_HTTP_ALLOW_HOSTS), not a tenant's to set",
      { path: 'rules.httpLocalAllowHosts' },
    );
  }
  const hashed = withPolicyHash(policy);
  const put = await putInForce(
    store,
    policyStreamId(tenantId),
    { type: 'PolicyPublished', data: hashed },
    { tenantId, actor: actorName(actor) },
  );
  return { changed: put.changed, policy: policyOf(put.event) };
}

export async function setPriceTable(store: EventStore, table: PriceTable, now: Date, actor: Actor) {
  const put = await putInForce(
    store,
    PRICING_STREAM,
    { type: 'PriceTableAdopted', data: { ...withPriceTableHash(table), effectiveFrom: now.toISOString() } },
    { tenantId: PRICING_TENANT, actor: actorName(actor) },
  );
  return { changed: put.changed, priceTable: priceTableOf(put.event) };
}

export async function setFailureCatalog(store: EventStore, catalog: FailureCatalog, now: Date, actor: Actor) {
  const put = await putInForce(
    store,
    FAILURE_CATALOG_STREAM,
    {
      type: 'FailureCatalogAdopted',
      data: { ...withFailureCatalogHash(catalog), effectiveFrom: now.toISOString() },
    },
    { tenantId: PRICING_TENANT, actor: actorName(actor) },
  );
  return { changed: put.changed, failureCatalog: failureCatalogOf(put.event) };
}

/** The shipped catalog is recorded on first start, so classifications can name it by hash. */
export async function ensureFailureCatalog(store: EventStore, now: Date): Promise<HashedFailureCatalog> {
  if (!(await latest(store, FAILURE_CATALOG_STREAM))) {
    await setFailureCatalog(store, defaultFailureCatalog, now, { id: 'bootstrap', role: 'system' });
  }
  return currentFailureCatalog(store);
}

/** The default price table is recorded on first start, so charges can name it by hash. */
export async function ensurePriceTable(store: EventStore, now: Date): Promise<HashedPriceTable> {
  if (!(await latest(store, PRICING_STREAM))) {
    // Another process starting at once may adopt it first: the decider then changes nothing.
    await setPriceTable(store, defaultPriceTable, now, { id: 'bootstrap', role: 'system' });
  }
  return currentPriceTable(store);
}
