import type { Request } from 'express';
import { describe, expect, test } from 'vitest';
import { clientIp, forwardedFor } from '../src/edge/client-ip.js';

const req = (forwarded: string | undefined, remoteAddress = '::ffff:10.0.0.5') =>
  ({ headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded }, socket: { remoteAddress } }) as unknown as Request;

describe('client address', () => {
  test('when nginx (one hop) appended the client, then the rightmost entry is the client and spoofed entries are dropped', () => {
    const request = req('6.6.6.6, 1.1.1.1, 203.0.113.7');
    expect(clientIp(request, 1)).toBe('203.0.113.7');
    expect(forwardedFor(request, 1)).toBe('203.0.113.7, 10.0.0.5');
  });

  test('when no proxy is trusted, then the socket address is the client whatever the header says', () => {
    expect(clientIp(req('203.0.113.7'), 0)).toBe('10.0.0.5');
    expect(forwardedFor(req('203.0.113.7'), 0)).toBe('10.0.0.5');
  });

  test('when two hops are trusted, then the client is the second entry from the right', () => {
    expect(clientIp(req('9.9.9.9, 198.51.100.1, 10.0.0.2'), 2)).toBe('198.51.100.1');
  });

  test('when fewer addresses arrived than hops are trusted, then the furthest address is used', () => {
    expect(clientIp(req(undefined), 1)).toBe('10.0.0.5');
    expect(clientIp(req('198.51.100.1'), 3)).toBe('198.51.100.1');
  });

  test('when addresses are IPv4-mapped, upper-case IPv6 or junk, then they are normalised or ignored', () => {
    expect(clientIp(req('not-an-ip, ::FFFF:203.0.113.9'), 1)).toBe('203.0.113.9');
    expect(clientIp(req('2001:DB8::1'), 1)).toBe('2001:db8::1');
    expect(clientIp(req('<script>, 203.0.113.9:443, 198.51.100.2'), 1)).toBe('198.51.100.2');
  });

  test('when the header arrives twice, then both are read as one chain', () => {
    expect(clientIp(req(['1.1.1.1', '203.0.113.4'] as unknown as string), 1)).toBe('203.0.113.4');
  });
});
