// Versioned reference data: a tenant's policy (stream `policy-<tenantId>`, PolicyPublished),
// the installation's price table (stream `pricing`, PriceTableAdopted) and its failure catalog
// (stream `failure-catalog`, FailureCatalogAdopted). Each stream holds every
// version ever put in force, the latest in force now. A version label names one content (its
// hash) for good: publishing the version in force again changes nothing, an earlier version
// may be put back in force (a rollback, recorded), and a label already used for other content
// is refused naming `version`. Runs snapshot the version in force when submitted (RunSubmitted),
// so a change applies to runs submitted after it and replay re-decides with the recorded one.
import type { Decider } from './decider.ts';
import { DomainError } from './domain-error.ts';
import type { AosEventData } from './events/catalog.ts';

export type ReferenceEvent =
  | { type: 'PolicyPublished'; data: AosEventData<'PolicyPublished'> }
  | { type: 'PriceTableAdopted'; data: AosEventData<'PriceTableAdopted'> }
  | { type: 'FailureCatalogAdopted'; data: AosEventData<'FailureCatalogAdopted'> };

export interface ReferenceState {
  /** The version in force; null before the first. */
  latest: { version: string; hash: string } | null;
  /** Every version label used, with the hash it names. */
  hashes: Record<string, string>;
}

export interface PutInForce {
  type: 'PutInForce';
  /** The event that puts the version in force, built by the caller from the validated content. */
  event: ReferenceEvent;
}

const contentNames = {
  PolicyPublished: 'rules',
  PriceTableAdopted: 'prices',
  FailureCatalogAdopted: 'entries',
};
const what = (event: ReferenceEvent) => contentNames[event.type];

export const referenceDecider: Decider<ReferenceState, PutInForce, ReferenceEvent> = {
  initialState: () => ({ latest: null, hashes: {} }),
  evolve: (state, event) => ({
    latest: { version: event.data.version, hash: event.data.hash },
    hashes: { ...state.hashes, [event.data.version]: event.data.hash },
  }),
  decide: ({ event }, state) => {
    const { version, hash } = event.data;
    if (state.latest?.version === version && state.latest.hash === hash) return [];
    const named = state.hashes[version];
    if (named !== undefined && named !== hash) {
      throw new DomainError(
        'INVALID_INPUT',
        `version ${version} was published before with other ${what(event)}`,
        {
          issues: [
            {
              path: ['version'],
              message: `already names other ${what(event)}; give the new ones a new version`,
            },
          ],
        },
      );
    }
    return [event];
  },
};
