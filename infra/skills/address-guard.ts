// SSRF guard for http_call: which hosts and addresses a skill may connect to.
//
// What is refused is domain/local-address.ts's rule (the policy decides a step's URL with the
// same function, rule http.local_address), unless allow-listed: local and reserved addresses,
// their IPv4-mapped forms, metadata and local names.
//
// The check is made on the address actually connected: the URL's host is checked before the
// request, and a host name is checked inside the `lookup` the socket uses, so a name that
// resolves (or re-resolves, DNS rebinding) to a forbidden address is refused at connect time.
// Every address a name resolves to must be allowed, not just the first.
//
// Allow-list entries (host names or IP addresses) match the URL's host, compared after
// normalisation (lower case, no brackets, no trailing dot, canonical IP form). An entry for an
// IP allows a URL naming that IP; it does not allow a host name that resolves to it, so
// allow-listing 127.0.0.1 does not open `localhost` or a rebinding name.
import dns from 'node:dns';
import type net from 'node:net';
import { forbiddenAddressReason, localHostReason, normaliseHost } from '../../domain/local-address.ts';

export { forbiddenAddressReason, metadataHostnames, normaliseHost } from '../../domain/local-address.ts';

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
    const reason = localHostReason(normal);
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
