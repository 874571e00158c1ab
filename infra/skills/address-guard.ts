// SSRF guard for http_call: which hosts and addresses a skill may connect to.
//
// Refused unless allow-listed: loopback, private, carrier-grade NAT, link-local (with the
// cloud metadata address), unspecified, multicast and reserved ranges, in IPv4 and IPv6,
// and their IPv4-mapped IPv6 forms (net.BlockList checks ::ffff:a.b.c.d against the IPv4
// rules); and the well-known metadata host names.
//
// The check is made on the address actually connected: an IP literal in the URL is checked
// before the request, and a host name is checked inside the `lookup` the socket uses, so a
// name that resolves (or re-resolves, DNS rebinding) to a forbidden address is refused at
// connect time. Every address a name resolves to must be allowed, not just the first.
//
// Allow-list entries (host names or IP addresses) match the URL's host, compared after
// normalisation (lower case, no brackets, no trailing dot, canonical IP form). An entry for an
// IP allows a URL naming that IP; it does not allow a host name that resolves to it, so
// allow-listing 127.0.0.1 does not open `localhost` or a rebinding name.
import dns from 'node:dns';
import net from 'node:net';

const blockedRanges: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'carrier-grade NAT (Alibaba cloud metadata)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments (Oracle cloud metadata)'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  // IPv4-compatible IPv6 (deprecated), e.g. ::7f00:1 for 127.0.0.1.
  ['::', 96, 'ipv6', 'IPv4-compatible'],
  ['fc00::', 7, 'ipv6', 'unique local (private)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const blockList = new net.BlockList();
/** One list per range, to name the range an address falls in. */
const labelledRanges = blockedRanges.map(([network, prefix, family, label]) => {
  blockList.addSubnet(network, prefix, family);
  const single = new net.BlockList();
  single.addSubnet(network, prefix, family);
  return { single, label };
});

/** Host names of cloud metadata services (lower case, no trailing dot). */
export const metadataHostnames: readonly string[] = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
  'metadata.packet.net',
];
const metadataHostSet = new Set(metadataHostnames);

/** Lower case, brackets and a trailing dot removed, IPs in canonical form (as WHATWG URL writes them). */
export function normaliseHost(host: string): string {
  let value = host.trim().toLowerCase();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  if (value.endsWith('.')) value = value.slice(0, -1);
  const family = net.isIP(value);
  if (family === 6) {
    try {
      return new URL(`http://[${value}]/`).hostname.slice(1, -1);
    } catch {
      return value;
    }
  }
  return value;
}

/** Why an address may not be connected to, or undefined when it may. */
export function forbiddenAddressReason(address: string): string | undefined {
  const family = net.isIP(address);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (!blockList.check(address, type)) return undefined;
  const range = labelledRanges.find(({ single }) => single.check(address, type));
  return `${range?.label ?? 'forbidden'} address ${address}`;
}

/** The error a refused connection fails with; http_call maps it to LOCAL_URL_FORBIDDEN. */
export class ForbiddenAddressError extends Error {
  readonly code = 'ERR_AOS_LOCAL_URL_FORBIDDEN';
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`${host} is not allowed: ${reason}`);
    this.name = 'ForbiddenAddressError';
  }
}

type LookupAll = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

export interface AddressGuardOptions {
  /** Hosts or IPs (matching the URL's host) that may be connected to even if they are local. */
  allowHosts?: readonly string[];
  /** The resolver; node's dns.lookup unless a test substitutes one. */
  lookup?: LookupAll;
}

export interface AddressGuard {
  isAllowListed(host: string): boolean;
  /** Checks a URL's host before any connection: metadata names and IP literals. */
  checkHost(host: string): ForbiddenAddressError | undefined;
  /** A `lookup` for net/tls.connect that refuses names resolving to forbidden addresses. */
  lookup: net.LookupFunction;
}

export function createAddressGuard(options: AddressGuardOptions = {}): AddressGuard {
  const allowed = new Set((options.allowHosts ?? []).map(normaliseHost));
  const resolveAll: LookupAll =
    options.lookup ?? ((hostname, lookupOptions, callback) => dns.lookup(hostname, lookupOptions, callback));

  function isAllowListed(host: string): boolean {
    return allowed.has(normaliseHost(host));
  }

  function checkHost(host: string): ForbiddenAddressError | undefined {
    const normal = normaliseHost(host);
    if (allowed.has(normal)) return undefined;
    if (metadataHostSet.has(normal)) return new ForbiddenAddressError(normal, 'cloud metadata host');
    const reason = forbiddenAddressReason(normal);
    return reason === undefined ? undefined : new ForbiddenAddressError(normal, reason);
  }

  const lookup = ((hostname: string, lookupOptions: dns.LookupOptions, callback: LookupCallback) => {
    const refused = checkHost(hostname);
    if (refused) {
      callback(refused, lookupOptions.all ? [] : '', 0);
      return;
    }
    const allowListed = isAllowListed(hostname);
    resolveAll(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) {
        callback(error, lookupOptions.all ? [] : '', 0);
        return;
      }
      if (!allowListed) {
        for (const entry of addresses) {
          const reason = forbiddenAddressReason(entry.address);
          if (reason !== undefined) {
            callback(
              new ForbiddenAddressError(hostname, `resolves to ${reason}`),
              lookupOptions.all ? [] : '',
              0,
            );
            return;
          }
        }
      }
      if (lookupOptions.all) {
        callback(null, addresses);
        return;
      }
      const first = addresses[0];
      if (!first) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, '', 0);
        return;
      }
      callback(null, first.address, first.family);
    });
  }) as net.LookupFunction;

  return { isAllowListed, checkHost, lookup };
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;
