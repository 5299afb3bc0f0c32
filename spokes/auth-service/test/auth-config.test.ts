import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.js';

const BASE = {
  DATABASE_URL: 'postgres://auth@db/auth', REDIS_URL: 'redis://redis:6379', AMQP_URL: 'amqp://mq:5672',
  REGISTRY_KEY: 'a-registry-key-0123456789', AUTH_KEY_ENCRYPTION_KEY: 'a-key-encryption-key-0123456789abcdef',
};

describe('auth configuration', () => {
  test('when only the required variables are set, then the production defaults apply', () => {
    const config = loadConfig(BASE);
    expect(config).toMatchObject({
      port: 3001, trustProxyHops: 2, admin: undefined,
      tokens: { issuer: 'hubspoke-auth', audience: 'hubspoke', accessTokenTtlMs: 900_000, refreshTokenTtlMs: 30 * 86_400_000, refreshGraceMs: 10_000 },
      argon2: { memoryCost: 19_456, timeCost: 2, parallelism: 1 },
      throttle: { windowMs: 900_000, freeFailures: 3, firstDelayMs: 1_000, maxFailuresPerAddress: 20 },
    });
  });

  test('when variables are missing or malformed, then one error names every one of them', () => {
    expect(() => loadConfig({ ...BASE, DRAIN_DELAY_MS: '30s' })).toThrow(/DRAIN_DELAY_MS must be shorter than SHUTDOWN_TIMEOUT_MS/);
    expect(() => loadConfig({ REDIS_URL: 'not a url', ARGON2_MEMORY_KIB: 'lots', AUTH_SIGNING_KEYS: 'not base64!' })).toThrow(
      /auth: invalid configuration: .*REDIS_URL is not a URL.*REGISTRY_KEY is missing.*DATABASE_URL is missing.*AMQP_URL is missing.*ARGON2_MEMORY_KIB.*AUTH_SIGNING_KEYS is not base64/);
  });

  test('when the first admin is half configured, or keeps the placeholder password anywhere but a loopback-only gateway, then the start is refused', () => {
    expect(() => loadConfig({ ...BASE, ADMIN_EMAIL: 'root@example.com' })).toThrow(/ADMIN_PASSWORD is missing/);
    expect(() => loadConfig({ ...BASE, ADMIN_PASSWORD: 'a long enough one' })).toThrow(/ADMIN_EMAIL is missing/);
    expect(() => loadConfig({ ...BASE, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD is shorter than 12/);
    const placeholder = { ...BASE, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'changeme-admin-password' };
    for (const bind of ['127.0.0.1', '127.0.0.53', '::1', 'localhost']) {
      expect(loadConfig({ ...placeholder, GATEWAY_BIND: bind }).admin, bind).toEqual({ email: 'root@example.com', password: 'changeme-admin-password' });
    }
    expect(() => loadConfig({ ...placeholder, GATEWAY_BIND: '0.0.0.0' })).toThrow(/ADMIN_PASSWORD still holds a changeme- placeholder while the gateway is published on 0.0.0.0/);
    expect(() => loadConfig({ ...placeholder, GATEWAY_BIND: '192.0.2.10' })).toThrow(/published on 192.0.2.10/);
    expect(() => loadConfig(placeholder)).toThrow(/GATEWAY_BIND is unset/);
    expect(() => loadConfig({ ...placeholder, GATEWAY_BIND: '127.0.0.1', HUBSPOKE_PRODUCTION: 'true' })).toThrow(/placeholder in production/);
    expect(loadConfig({ ...placeholder, ADMIN_PASSWORD: 'a real admin passphrase', GATEWAY_BIND: '0.0.0.0' }).admin?.password).toBe('a real admin passphrase');
  });

  test('when the signing keys live in the database, then a key-encryption key is required, long, not the placeholder in production, and not its own predecessor', () => {
    const { AUTH_KEY_ENCRYPTION_KEY: _kek, ...withoutKek } = BASE;
    expect(() => loadConfig(withoutKek)).toThrow(/AUTH_KEY_ENCRYPTION_KEY is missing/);
    expect(loadConfig({ ...withoutKek, AUTH_SIGNING_KEYS: 'e30=' }).keys.encryption).toBeUndefined();
    expect(() => loadConfig({ ...BASE, AUTH_KEY_ENCRYPTION_KEY: 'too-short' })).toThrow(/AUTH_KEY_ENCRYPTION_KEY is shorter than 32/);
    expect(() => loadConfig({ ...BASE, AUTH_KEY_ENCRYPTION_KEY: 'changeme-auth-key-encryption-key-0123456789', HUBSPOKE_PRODUCTION: 'true' }))
      .toThrow(/AUTH_KEY_ENCRYPTION_KEY still holds a changeme- placeholder/);
    expect(() => loadConfig({ ...BASE, AUTH_KEY_ENCRYPTION_KEY_PREVIOUS: BASE.AUTH_KEY_ENCRYPTION_KEY })).toThrow(/PREVIOUS is the same/);
    expect(loadConfig({ ...BASE, AUTH_KEY_ENCRYPTION_KEY_PREVIOUS: 'the-one-before-0123456789abcdef' }).keys.encryption)
      .toEqual({ current: BASE.AUTH_KEY_ENCRYPTION_KEY, previous: 'the-one-before-0123456789abcdef' });
  });
});
