import { isIP } from 'node:net';
import type { Request } from 'express';

/**
 * The client address, trusting exactly `trustedHops` proxies in front of the hub.
 *
 * Each proxy appends the address it received the connection from to `X-Forwarded-For`, and the last
 * proxy is the socket peer. Reading from the right, the socket peer and the `trustedHops - 1` rightmost
 * entries were written by our own proxies; the next address is the client, and anything further left
 * came from the client itself and counts for nothing. With one hop (nginx, `$proxy_add_x_forwarded_for`)
 * the client is the rightmost entry; with zero hops it is the socket address and the header is ignored.
 * `X-Real-IP` is not read: it adds nothing over the chain and would be one more header to spoof.
 */
export function clientIp(req: Request, trustedHops: number): string {
  const chain = addressChain(req);
  return chain[clientIndex(chain, trustedHops)] ?? '';
}

/**
 * The `X-Forwarded-For` to send upstream: the client followed by the proxies we trust (the socket peer
 * last, as a proxy appends it), with the client's own, unverifiable entries dropped.
 */
export function forwardedFor(req: Request, trustedHops: number): string {
  const chain = addressChain(req);
  return chain.slice(clientIndex(chain, trustedHops)).join(', ');
}

/** Every address the request passed through, oldest first: the X-Forwarded-For entries, then the socket peer. */
function addressChain(req: Request): string[] {
  const header = req.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  return [...entries, req.socket.remoteAddress ?? ''].map(normaliseAddress).filter((address) => address !== '');
}

// Malformed entries are dropped first: our proxies always write real addresses, so junk can only sit in
// the part the client wrote, and dropping it there changes nothing we trust.
function clientIndex(chain: string[], trustedHops: number): number {
  return Math.max(0, chain.length - 1 - trustedHops);
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:10.0.0.1` and `10.0.0.1` are one client; IPv6 is compared lower-case; junk becomes ''. */
function normaliseAddress(raw: string): string {
  const address = raw.trim();
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped?.[1]) return mapped[1];
  const version = isIP(address);
  if (version === 6) return address.toLowerCase();
  return version === 4 ? address : '';
}
