import { describe, expect, test } from 'vitest';
import { signRecord, verifyRecord } from '../src/registry/signing.js';
import type { InstanceRecord } from '../src/registry/types.js';
import { testRegistryKey, TEST_REGISTRY_MASTER_KEY as MASTER } from '../src/testing/registry-keys.js';

const now = 1_700_000_000_000;
const KEY = testRegistryKey('users');
const record = (overrides: Partial<InstanceRecord> = {}): InstanceRecord => ({
  service: 'users',
  instanceId: 'host-1-abcd1234',
  url: 'http://10.0.0.7:3002',
  routePrefix: 'users',
  version: '1.0.0',
  publicRoutes: [{ method: 'GET', path: '/public/*' }],
  routeLimits: [],
  taskTypes: [], tasks: [],
  status: 'ready',
  heartbeatAt: now,
  ttlMs: 10_000,
  ...overrides,
});

describe('registry record signing', () => {
  test('when a record is signed with the secret, then it verifies back to the same record', () => {
    expect(verifyRecord(signRecord(record(), KEY), MASTER, now + 1000)).toEqual({ ok: true, record: record() });
  });

  test('when a record is signed with a key not derived from the master key, then it is rejected as a bad signature', () => {
    expect(verifyRecord(signRecord(record(), 'another-secret-0123456789'), MASTER, now)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('when a service signs with its own key a record naming another service, then it is rejected as a bad signature', () => {
    const claimsUsers = signRecord(record({ service: 'users', routePrefix: 'auth' }), testRegistryKey('rogue'));
    expect(verifyRecord(claimsUsers, MASTER, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyRecord(signRecord(record({ service: 'rogue', routePrefix: 'auth' }), testRegistryKey('rogue')), MASTER, now)).toMatchObject({ ok: true });
  });

  test('when the signed payload is tampered with, then it is rejected as a bad signature', () => {
    const stored = JSON.parse(signRecord(record(), KEY)) as { payload: string; sig: string };
    const tampered = { ...stored, payload: stored.payload.replace('10.0.0.7', '6.6.6.6') };
    expect(verifyRecord(JSON.stringify(tampered), MASTER, now)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('when a bare record or an envelope without a signature is stored, then it is rejected as unsigned', () => {
    expect(verifyRecord(JSON.stringify(record()), MASTER, now)).toEqual({ ok: false, reason: 'unsigned' });
    expect(verifyRecord(JSON.stringify({ payload: JSON.stringify(record()) }), MASTER, now)).toEqual({ ok: false, reason: 'unsigned' });
  });

  test('when the stored value is not JSON, an array or oversized, then it is rejected as malformed', () => {
    for (const stored of ['{not json', '[]', 'null', JSON.stringify({ sig: 'x', payload: 'y'.repeat(70_000) })]) {
      expect(verifyRecord(stored, MASTER, now)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  test.each([
    ['a non-http url', { url: 'file:///etc/passwd' }],
    ['a url with credentials', { url: 'http://user:pw@10.0.0.7:3002' }],
    ['an upper-case route prefix', { routePrefix: 'Users' }],
    ['a route prefix with a slash', { routePrefix: 'users/admin' }],
    ['an unknown status', { status: 'up' as never }],
    ['a public route with a space', { publicRoutes: [{ method: 'GET', path: '/a b' }] }],
    ['a negative ttl', { ttlMs: -1 }],
  ])('when a correctly signed record has %s, then it is rejected as malformed', (_name, overrides) => {
    expect(verifyRecord(signRecord(record(overrides), KEY), MASTER, now)).toEqual({ ok: false, reason: 'malformed' });
  });

  test('when a signed record is older than its heartbeat plus ttl, then it is rejected as expired', () => {
    expect(verifyRecord(signRecord(record(), KEY), MASTER, now + 10_001)).toEqual({ ok: false, reason: 'expired' });
  });
});
