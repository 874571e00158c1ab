// Price tables (stream `pricing`) and tenant policies (stream `policy-<tenantId>`) are
// events too, so every charge and decision names the exact version it used. Until a
// tenant publishes a policy, the default one is in force.

import { DomainError } from '../domain/domain-error.ts';
import { validateNewEvent } from '../domain/events/catalog.ts';
import { deterministicUuid } from '../domain/hashing.ts';
import { defaultPolicy, type HashedPolicy, type Policy, withPolicyHash } from '../domain/policy.ts';
import {
  defaultPriceTable,
  type HashedPriceTable,
  type PriceTable,
  withPriceTableHash,
} from '../domain/pricing.ts';
import type { EventStore } from '../domain/store/event-store.ts';

export const PRICING_STREAM = 'pricing';
export const policyStreamId = (tenantId: string) => `policy-${tenantId}`;

async function latest(store: EventStore, streamId: string) {
  const [event] = await store.readStream(streamId, { direction: 'backward', limit: 1 });
  return event;
}

export async function currentPriceTable(store: EventStore): Promise<HashedPriceTable> {
  const event = await latest(store, PRICING_STREAM);
  if (!event) return withPriceTableHash(defaultPriceTable);
  const { version, hash, models } = event.data as HashedPriceTable;
  return { version, hash, models };
}

export async function currentPolicy(store: EventStore, tenantId: string): Promise<HashedPolicy> {
  const event = await latest(store, policyStreamId(tenantId));
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

/** Adopts a price table; adopting the same table (by hash) again changes nothing. */
export async function adoptPriceTable(store: EventStore, table: PriceTable, now: Date, actor: string) {
  const hashed = withPriceTableHash(table);
  const event = validateNewEvent({
    type: 'PriceTableAdopted',
    data: { ...hashed, effectiveFrom: now.toISOString() },
  });
  const current = await latest(store, PRICING_STREAM);
  if (current && (current.data as HashedPriceTable).hash === hashed.hash) return hashed;
  await store.append(
    PRICING_STREAM,
    [
      {
        eventId: deterministicUuid('price-table', hashed.hash, current?.streamPosition ?? -1),
        ...event,
        metadata: { tenantId: 'system', actor },
      },
    ],
    { expectedVersion: current ? current.streamPosition : 'no_stream' },
  );
  return hashed;
}

/** The default price table is recorded on first start, so charges can name it by hash. */
export async function ensurePriceTable(store: EventStore, now: Date): Promise<HashedPriceTable> {
  const current = await latest(store, PRICING_STREAM);
  if (current) return currentPriceTable(store);
  try {
    return await adoptPriceTable(store, defaultPriceTable, now, 'system:bootstrap');
  } catch {
    // Another process adopted it first.
    return currentPriceTable(store);
  }
}

export async function publishPolicy(
  store: EventStore,
  tenantId: string,
  policy: Policy,
  actor: string,
): Promise<HashedPolicy> {
  if (policy.rules.httpLocalAllowHosts !== undefined) {
    throw new DomainError(
      'INVALID_INPUT',
      "rules.httpLocalAllowHosts is the installation's (AOS_HTTP_ALLOW_HOSTS), not a tenant's to set",
      { path: 'rules.httpLocalAllowHosts' },
    );
  }
  const hashed = withPolicyHash(policy);
  const current = await latest(store, policyStreamId(tenantId));
  const event = validateNewEvent({ type: 'PolicyPublished', data: hashed });
  await store.append(
    policyStreamId(tenantId),
    [
      {
        eventId: deterministicUuid('policy', tenantId, hashed.hash, current?.streamPosition ?? -1),
        ...event,
        metadata: { tenantId, actor },
      },
    ],
    { expectedVersion: current ? current.streamPosition : 'no_stream' },
  );
  return hashed;
}
