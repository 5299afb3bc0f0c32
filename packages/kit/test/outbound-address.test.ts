import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { assertOutboundUrl, classifyAddress, outboundLookup, OutboundAddressError } from '../src/outbound/outbound-address.js';

describe('classifyAddress', () => {
  test.each([
    ['127.0.0.1', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'], ['172.20.0.5', 'private'], ['192.168.1.1', 'private'], ['100.64.0.1', 'private'], ['fd12::1', 'private'],
    ['169.254.169.254', 'metadata'], ['fd00:ec2::254', 'metadata'], ['100.100.100.200', 'metadata'],
    ['169.254.10.10', 'link-local'], ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['224.0.0.1', 'multicast'], ['255.255.255.255', 'reserved'], ['64:ff9b::a00:1', 'reserved'],
    ['93.184.216.34', 'public'], ['2606:4700::1111', 'public'],
  ])('when the address is %s, then it is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});

describe('assertOutboundUrl', () => {
  test.each([
    'http://127.0.0.1/hook', 'http://[::1]:8080/', 'http://169.254.169.254/latest/meta-data/', 'https://10.0.0.8/x',
    'http://[::ffff:7f00:1]/', 'http://0.0.0.0:80/',
  ])('when the URL is %s, then it is refused before connecting', async (url) => {
    await expect(assertOutboundUrl(url)).rejects.toBeInstanceOf(OutboundAddressError);
  });

  test('when a name resolves to a loopback address, then it is refused too', async () => {
    await expect(assertOutboundUrl('http://localhost:9/hook')).rejects.toMatchObject({ code: 'OUTBOUND.ADDRESS_REFUSED', kind: 'loopback' });
  });

  test('when the scheme is not http(s), then it is refused', async () => {
    await expect(assertOutboundUrl('file:///etc/passwd')).rejects.toMatchObject({ code: 'OUTBOUND.SCHEME_REFUSED' });
  });

  test('when the address is public or inside an allowed network, then it passes', async () => {
    await expect(assertOutboundUrl('https://93.184.216.34/hook')).resolves.toBeUndefined();
    await expect(assertOutboundUrl('http://127.0.0.1:3000/', { allowedNetworks: ['127.0.0.0/8'] })).resolves.toBeUndefined();
    await expect(assertOutboundUrl('http://10.0.0.8/', { allowedNetworks: ['127.0.0.0/8'] })).rejects.toBeInstanceOf(OutboundAddressError);
  });
});

describe('outboundLookup on a real connection', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('reached'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (lookup: ReturnType<typeof outboundLookup>) => new Promise<string>((resolve, reject) => {
    request({ host: 'localhost', port, path: '/', family: 4, lookup }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });

  test('when a name resolves to a refused address at connection time, then the socket is never opened', async () => {
    let reached = false;
    server.once('request', () => (reached = true));
    await expect(get(outboundLookup())).rejects.toBeInstanceOf(OutboundAddressError);
    expect(reached).toBe(false);
  });

  test('when the network is allowed, then the same request goes through', async () => {
    expect(await get(outboundLookup({ allowedNetworks: ['127.0.0.1/32'] }))).toBe('reached');
  });
});
