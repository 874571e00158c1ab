// Which hosts a URL may not name: loopback, private, carrier-grade NAT, link-local (with the
// cloud metadata address), unspecified, multicast and reserved ranges, in IPv4 and IPv6 and
// their IPv4-mapped IPv6 forms (::ffff:a.b.c.d is judged by the IPv4 rules); the well-known
// cloud metadata host names; and local names (localhost, *.localhost: RFC 6761). Pure: the
// policy decides a step's URL with it (domain/policy.ts, rule http.local_address) and the
// http_call skill's address guard (infra/skills/address-guard.ts) checks the URL and every
// address a name resolves to with the same function. Only the resolution is the guard's own:
// a name that resolves to a local address cannot be known without asking DNS.

interface Range {
  bits: bigint;
  prefix: number;
  label: string;
}

function range(width: 32 | 128, parse: (text: string) => bigint | undefined) {
  return (cidr: string, label: string): Range => {
    const [network = '', prefix = ''] = cidr.split('/');
    const bits = parse(network)!;
    return { bits: bits >> BigInt(width - Number(prefix)), prefix: Number(prefix), label };
  };
}

/** a.b.c.d, each 0–255 in decimal (as URLs and resolvers write them), as 32 bits. */
function ipv4Bits(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

/** An IPv6 address (`::` compression, an IPv4 tail, a zone id) as 128 bits. */
function ipv6Bits(text: string): bigint | undefined {
  let value = text.split('%')[0]!;
  const lastColon = value.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (value.includes('.', lastColon)) {
    const tail = ipv4Bits(value.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    value = `${value.slice(0, lastColon + 1)}${(tail >> 16n).toString(16)}:${(tail & 0xffffn).toString(16)}`;
  }
  const halves = value.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined;
  let bits = 0n;
  for (const group of [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    bits = (bits << 16n) | BigInt(Number.parseInt(group, 16));
  }
  return bits;
}

const v4 = range(32, ipv4Bits);
const v6 = range(128, ipv6Bits);

const ipv4Ranges: readonly Range[] = [
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'carrier-grade NAT (Alibaba cloud metadata)'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local (cloud metadata)'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'IETF protocol assignments (Oracle cloud metadata)'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

/** In order: the first that holds an address names it. */
const ipv6Ranges: readonly Range[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  // IPv4-compatible IPv6 (deprecated), e.g. ::7f00:1 for 127.0.0.1.
  v6('::/96', 'IPv4-compatible'),
  v6('fc00::/7', 'unique local (private)'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'site-local'),
  v6('ff00::/8', 'multicast'),
];
const ipv4Mapped = v6('::ffff:0:0/96', 'IPv4-mapped');

const within = (bits: bigint, width: number, candidate: Range) =>
  bits >> BigInt(width - candidate.prefix) === candidate.bits;

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

/** Lower case, brackets and a trailing dot removed, IPv6 in canonical form (as WHATWG URL writes it). */
export function normaliseHost(host: string): string {
  let value = host.trim().toLowerCase();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  if (value.endsWith('.')) value = value.slice(0, -1);
  if (ipv6Bits(value) === undefined) return value;
  try {
    return new URL(`http://[${value}]/`).hostname.slice(1, -1);
  } catch {
    return value;
  }
}

/** Why an IP address may not be connected to, or undefined when it may (or is no IP address). */
export function forbiddenAddressReason(address: string): string | undefined {
  const four = ipv4Bits(address);
  if (four !== undefined) {
    const found = ipv4Ranges.find((candidate) => within(four, 32, candidate));
    return found && `${found.label} address ${address}`;
  }
  const six = ipv6Bits(address);
  if (six === undefined) return undefined;
  if (within(six, 128, ipv4Mapped)) {
    const mapped = six & 0xffffffffn;
    const found = ipv4Ranges.find((candidate) => within(mapped, 32, candidate));
    return found && `${found.label} address ${address}`;
  }
  const found = ipv6Ranges.find((candidate) => within(six, 128, candidate));
  return found && `${found.label} address ${address}`;
}

/**
 * Why a URL's host may not be called without looking it up: a metadata name, a local name or
 * a local address; undefined when only its resolution can tell.
 */
export function localHostReason(host: string): string | undefined {
  const normal = normaliseHost(host);
  if (metadataHostSet.has(normal)) return 'cloud metadata host';
  if (normal === 'localhost' || normal.endsWith('.localhost')) return 'local name';
  return forbiddenAddressReason(normal);
}
