import { hostname as osHostname, networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export interface InstanceUrlOptions {
  port: number;
  /** An explicit URL (from the environment): used as is. */
  override?: string;
  /** The hub network's IPv4 CIDR, e.g. `172.28.0.0/16`: picks this instance's address on it. */
  subnet?: string;
  /** `os.networkInterfaces()` output; injected by tests. */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** `os.hostname()`; injected by tests. */
  hostname?: string;
}

/**
 * This instance's own base URL on the hub network, so `--scale` replicas never register the same one:
 * the override if set; else the local IPv4 address in `subnet`; else the first non-internal IPv4
 * address; else the host name (a container's is resolvable on its networks).
 */
export function deriveInstanceUrl({ port, override, subnet, interfaces = networkInterfaces(), hostname = osHostname() }: InstanceUrlOptions): string {
  if (override?.trim()) {
    const url = override.trim();
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new Error(`registry: instance URL override is not an http(s) URL: ${url}`);
    return url.replace(/\/+$/, '');
  }
  const ipv4 = Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((info) => info.family === 'IPv4');
  if (subnet) {
    const contains = parseCidr(subnet);
    const match = ipv4.find((info) => contains(info.address));
    // Falling back to another network's address would register a URL the hub may not reach.
    if (!match) throw new Error(`registry: no local IPv4 address in subnet ${subnet} (have: ${ipv4.map((i) => i.address).join(', ') || 'none'})`);
    return `http://${match.address}:${port}`;
  }
  const external = ipv4.find((info) => !info.internal);
  return `http://${external?.address ?? hostname}:${port}`;
}

function parseCidr(cidr: string): (address: string) => boolean {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr.trim());
  const network = match ? ipv4ToInt(match[1]!) : undefined;
  const bits = match ? Number(match[2]) : NaN;
  if (network === undefined || !(bits >= 0 && bits <= 32)) throw new Error(`registry: not an IPv4 CIDR: ${cidr}`);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (address) => {
    const value = ipv4ToInt(address);
    return value !== undefined && ((value & mask) >>> 0) === ((network & mask) >>> 0);
  };
}

function ipv4ToInt(address: string): number | undefined {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return undefined;
  return octets.reduce((sum, octet) => sum * 256 + octet, 0);
}
