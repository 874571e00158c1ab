import type { LookupAddress } from 'node:dns';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createAddressGuard,
  ForbiddenAddressError,
  forbiddenAddressReason,
  normaliseHost,
} from '../../infra/skills/index.ts';

describe('forbiddenAddressReason', () => {
  it.each([
    ['127.0.0.1', /loopback/],
    ['10.255.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.0.1', /private/],
    ['100.127.0.1', /carrier-grade NAT/],
    ['169.254.169.254', /link-local/],
    ['0.1.2.3', /unspecified/],
    ['100.100.100.200', /Alibaba cloud metadata/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fd12:3456::1', /unique local/],
    ['fe80::abcd', /link-local/],
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:7f00:1', /loopback/],
    ['::ffff:192.168.1.1', /private/],
  ])('refuses %s', (address, reason) => {
    expect(forbiddenAddressReason(address)).toMatch(reason);
  });

  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    'example.com',
  ])('allows %s', (address) => {
    expect(forbiddenAddressReason(address)).toBeUndefined();
  });

  it('property: every private IPv4 address is refused, in its IPv4-mapped IPv6 form too', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(octet, octet, octet, (b, c, d) => {
        for (const address of [
          `10.${b}.${c}.${d}`,
          `127.${b}.${c}.${d}`,
          `192.168.${c}.${d}`,
          `169.254.${c}.${d}`,
        ]) {
          expect(forbiddenAddressReason(address)).toBeDefined();
          expect(forbiddenAddressReason(`::ffff:${address}`)).toBeDefined();
        }
      }),
    );
  });
});

describe('the address guard', () => {
  it('normalises hosts for the allow-list', () => {
    expect(normaliseHost('[::FFFF:127.0.0.1]')).toBe('::ffff:7f00:1');
    expect(normaliseHost('Example.COM.')).toBe('example.com');
    const guard = createAddressGuard({ allowHosts: ['[::1]', 'Internal.Service'] });
    expect(guard.checkHost('[0:0:0:0:0:0:0:1]')).toBeUndefined();
    expect(guard.checkHost('internal.service.')).toBeUndefined();
    expect(guard.checkHost('127.0.0.1')).toBeInstanceOf(ForbiddenAddressError);
    expect(guard.checkHost('metadata.goog')?.message).toMatch(/cloud metadata host/);
  });

  it('checks every resolved address inside lookup, for the single and the all form', async () => {
    const answers: Record<string, LookupAddress[]> = {
      'public.test': [{ address: '93.184.216.34', family: 4 }],
      'private.test': [{ address: '10.0.0.7', family: 4 }],
    };
    const guard = createAddressGuard({
      allowHosts: ['private.test'],
      lookup: (hostname, _options, callback) => callback(null, answers[hostname] ?? answers['private.test']!),
    });
    const lookup = (hostname: string, all: boolean) =>
      new Promise<unknown>((resolve, reject) =>
        guard.lookup(hostname, { all }, (error, address, family) =>
          error ? reject(error) : resolve(all ? address : [address, family]),
        ),
      );
    await expect(lookup('public.test', false)).resolves.toEqual(['93.184.216.34', 4]);
    await expect(lookup('public.test', true)).resolves.toEqual(answers['public.test']);
    await expect(lookup('private.test', false)).resolves.toEqual(['10.0.0.7', 4]);
    await expect(lookup('rebinding.test', true)).rejects.toBeInstanceOf(ForbiddenAddressError);
    await expect(lookup('metadata.google.internal', false)).rejects.toThrow(/cloud metadata host/);
  });
});
