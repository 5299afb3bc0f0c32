import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { AppError } from '../errors.js';

/**
 * Where a server-side request may go when a URL comes from configuration or a user (webhooks, callbacks):
 * only public addresses, unless an operator names the networks it may also reach (a webhook on the same
 * host in development, a provider inside the VPC).
 */
export interface OutboundPolicy {
  /** CIDRs (`127.0.0.1/32`, `10.0.0.0/8`, `fd00::/8`) allowed although they are not public. */
  allowedNetworks?: readonly string[];
}

export type AddressKind = 'public' | 'loopback' | 'link-local' | 'private' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

// Cloud metadata endpoints outside link-local (AWS v6, Alibaba, Azure wire server): named apart so a
// policy that allows a private range still says why these are refused.
const METADATA = ['169.254.169.254', '169.254.170.2', '100.100.100.200', '168.63.129.16', 'fd00:ec2::254'];
const RANGES: [Exclude<AddressKind, 'public' | 'metadata'>, string, number, 'ipv4' | 'ipv6'][] = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['reserved', '192.0.2.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['reserved', '198.51.100.0', 24, 'ipv4'],
  ['reserved', '203.0.113.0', 24, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'], // includes 255.255.255.255
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['reserved', '64:ff9b::', 96, 'ipv6'], // NAT64: reaches any IPv4 address, private ones included
  ['reserved', '100::', 64, 'ipv6'],
  ['reserved', '2001:db8::', 32, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
];
const BLOCKS = new Map<AddressKind, BlockList>();
for (const [kind, network, prefix, family] of RANGES) {
  const list = BLOCKS.get(kind) ?? new BlockList();
  list.addSubnet(network, prefix, family);
  BLOCKS.set(kind, list);
}

/** What kind of address an IP literal is; an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is its IPv4 address. */
export function classifyAddress(address: string): AddressKind {
  const ip = unmapped(address);
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (METADATA.includes(ip.toLowerCase())) return 'metadata';
  for (const [kind, list] of BLOCKS) if (list.check(ip, family)) return kind;
  return 'public';
}

/** The connection is refused before any byte is sent: the URL names, or resolves to, an address the policy forbids. */
export class OutboundAddressError extends AppError {
  constructor(readonly host: string, readonly address: string, readonly kind: AddressKind) {
    super('OUTBOUND.ADDRESS_REFUSED', `${host} is a ${kind} address (${address}), which this service may not call`, 400, { host, kind });
    this.name = 'OutboundAddressError';
  }
}

/** Throws OutboundAddressError unless the address is public or inside an allowed network. */
export function assertOutboundAddress(host: string, address: string, policy: OutboundPolicy = {}): void {
  const kind = classifyAddress(address);
  if (kind === 'public' || allowedBy(policy).check(unmapped(address), isIP(unmapped(address)) === 6 ? 'ipv6' : 'ipv4')) return;
  throw new OutboundAddressError(host, address, kind);
}

/**
 * A `lookup` for `http.request` / `net.connect`: every address a name resolves to is checked, and the
 * socket connects to one of those checked addresses, so a name cannot resolve to a public address when
 * checked and to a private one when connecting (DNS rebinding). An IP literal never goes through `lookup`:
 * check it with `assertOutboundUrl` first.
 */
export function outboundLookup(policy: OutboundPolicy = {}): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      try {
        for (const { address } of addresses) assertOutboundAddress(hostname, address, policy);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * Checks a URL before it is used: http(s) only, and its host (an IP literal, or every address its name
 * resolves to now) allowed by the policy. Run it when the URL is configured, so a bad one stops the
 * start; connect with `outboundLookup` so the check also holds at connection time.
 */
export async function assertOutboundUrl(url: string | URL, policy: OutboundPolicy = {}): Promise<void> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AppError('OUTBOUND.SCHEME_REFUSED', `Only http and https URLs may be called, not ${parsed.protocol}`, 400);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return assertOutboundAddress(host, host, policy);
  const addresses = await new Promise<{ address: string }[]>((resolve, reject) => {
    dnsLookup(host, { all: true }, (error, found) => (error ? reject(error) : resolve(found)));
  });
  for (const { address } of addresses) assertOutboundAddress(host, address, policy);
}

function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

const allowedLists = new WeakMap<OutboundPolicy, BlockList>();
function allowedBy(policy: OutboundPolicy): BlockList {
  let list = allowedLists.get(policy);
  if (!list) {
    list = new BlockList();
    for (const cidr of policy.allowedNetworks ?? []) {
      const [network = '', prefix] = cidr.split('/');
      const family = isIP(network) === 6 ? 'ipv6' : 'ipv4';
      if (!isIP(network)) throw new Error(`not a CIDR: ${cidr}`);
      list.addSubnet(network, prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix), family);
    }
    allowedLists.set(policy, list);
  }
  return list;
}
