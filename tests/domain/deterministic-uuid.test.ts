// Deterministic ids are stored (row ids, approval and decision ids): the same parts must give
// the same id in every version, and the id must be a UUID of version 8 (RFC 9562).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deterministicUuid } from '../../domain/hashing.ts';

describe('deterministicUuid', () => {
  it('gives the ids it always gave', () => {
    expect(deterministicUuid('status', '00000000-0000-4000-8000-000000000000', 'run')).toBe(
      '368ba694-3799-8d07-a68f-9393d8aa27a6',
    );
    expect(deterministicUuid('divergence', 'e1', 'run')).toBe('5e732879-2d29-81af-9a8d-fd5aa01cd5ba');
    expect(deterministicUuid('run', 'acme', 42)).toBe('5058087b-cb7e-8a00-b66f-691e5e3e29b9');
    expect(deterministicUuid()).toBe('e3b0c442-98fc-8c14-9afb-f4c8996fb924');
  });

  it('is a version 8 UUID with the RFC variant', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.integer())), (parts) => {
        expect(deterministicUuid(...parts)).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
      }),
    );
  });
});
