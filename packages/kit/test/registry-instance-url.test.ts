import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, test } from 'vitest';
import { deriveInstanceUrl } from '../src/registry/instance-url.js';

const nic = (address: string, internal = false, family: 'IPv4' | 'IPv6' = 'IPv4') =>
  ({ address, internal, family, netmask: '', mac: '', cidr: null, scopeid: 0 }) as NetworkInterfaceInfo;

const dockerTwoNetworks = {
  lo: [nic('127.0.0.1', true), nic('::1', true, 'IPv6')],
  eth0: [nic('172.29.0.5'), nic('fe80::1', false, 'IPv6')],
  eth1: [nic('172.28.0.9')],
};

describe('deriveInstanceUrl', () => {
  test('when an override is given, then it wins, without a trailing slash', () => {
    expect(deriveInstanceUrl({ port: 3002, override: 'http://user-a:3002/', subnet: '172.28.0.0/16', interfaces: dockerTwoNetworks })).toBe('http://user-a:3002');
  });

  test('when the override is not an http(s) URL, then it throws naming it', () => {
    expect(() => deriveInstanceUrl({ port: 3002, override: 'ftp://x', interfaces: dockerTwoNetworks })).toThrow(/ftp:\/\/x/);
  });

  test('when a subnet is given, then the address on that subnet is used, not the first one', () => {
    expect(deriveInstanceUrl({ port: 3002, subnet: '172.28.0.0/16', interfaces: dockerTwoNetworks })).toBe('http://172.28.0.9:3002');
    expect(deriveInstanceUrl({ port: 3002, subnet: '172.29.0.0/24', interfaces: dockerTwoNetworks })).toBe('http://172.29.0.5:3002');
  });

  test('when no local address is in the subnet, then it throws rather than register an unreachable URL', () => {
    expect(() => deriveInstanceUrl({ port: 3002, subnet: '10.0.0.0/8', interfaces: dockerTwoNetworks })).toThrow(/10\.0\.0\.0\/8/);
  });

  test('when the subnet is not an IPv4 CIDR, then it throws', () => {
    for (const subnet of ['172.28.0.0', '172.28.0.0/33', '300.1.1.1/8', 'fd00::/8']) {
      expect(() => deriveInstanceUrl({ port: 1, subnet, interfaces: dockerTwoNetworks })).toThrow(/CIDR/);
    }
  });

  test('when no subnet is given, then the first non-internal IPv4 address is used', () => {
    expect(deriveInstanceUrl({ port: 3003, interfaces: dockerTwoNetworks })).toBe('http://172.29.0.5:3003');
  });

  test('when there is only a loopback interface, then the host name is used', () => {
    expect(deriveInstanceUrl({ port: 3004, interfaces: { lo: [nic('127.0.0.1', true)] }, hostname: 'abc123' })).toBe('http://abc123:3004');
  });

  test('when two replicas derive their URLs, then each gets its own address', () => {
    const a = deriveInstanceUrl({ port: 3002, subnet: '172.28.0.0/16', interfaces: { eth0: [nic('172.28.0.4')] } });
    const b = deriveInstanceUrl({ port: 3002, subnet: '172.28.0.0/16', interfaces: { eth0: [nic('172.28.0.5')] } });
    expect(a).not.toBe(b);
  });
});
