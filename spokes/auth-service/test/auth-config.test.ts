import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.js';

const BASE = {
  DATABASE_URL: 'postgres://auth@db/auth', REDIS_URL: 'redis://redis:6379', AMQP_URL: 'amqp://mq:5672',
  REGISTRY_KEY: 'a-registry-key-0123456789',
};

describe('auth configuration', () => {
  test('when only the required variables are set, then the production defaults apply', () => {
    const config = loadConfig(BASE);
    expect(config).toMatchObject({
      port: 3001, trustProxyHops: 2, admin: undefined,
      tokens: { issuer: 'hubspoke-auth', audience: 'hubspoke', accessTokenTtlMs: 900_000, refreshTokenTtlMs: 30 * 86_400_000, refreshGraceMs: 10_000 },
      argon2: { memoryCost: 19_456, timeCost: 2, parallelism: 1 },
      throttle: { windowMs: 900_000, maxFailuresPerAccount: 5, maxFailuresPerIp: 20 },
    });
  });

  test('when variables are missing or malformed, then one error names every one of them', () => {
    expect(() => loadConfig({ ...BASE, DRAIN_DELAY_MS: '30s' })).toThrow(/DRAIN_DELAY_MS must be shorter than SHUTDOWN_TIMEOUT_MS/);
    expect(() => loadConfig({ REDIS_URL: 'not a url', ARGON2_MEMORY_KIB: 'lots', AUTH_SIGNING_KEYS: 'not base64!' })).toThrow(
      /auth: invalid configuration: .*REDIS_URL is not a URL.*REGISTRY_KEY is missing.*DATABASE_URL is missing.*AMQP_URL is missing.*ARGON2_MEMORY_KIB.*AUTH_SIGNING_KEYS is not base64/);
  });

  test('when the first admin is half configured or uses a placeholder in production, then the start is refused', () => {
    expect(() => loadConfig({ ...BASE, ADMIN_EMAIL: 'root@example.com' })).toThrow(/ADMIN_PASSWORD is missing/);
    expect(() => loadConfig({ ...BASE, ADMIN_PASSWORD: 'a long enough one' })).toThrow(/ADMIN_EMAIL is missing/);
    expect(() => loadConfig({ ...BASE, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD is shorter than 12/);
    const placeholder = { ...BASE, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'changeme-admin-password' };
    expect(loadConfig(placeholder).admin).toEqual({ email: 'root@example.com', password: 'changeme-admin-password' });
    expect(() => loadConfig({ ...placeholder, HUBSPOKE_PRODUCTION: 'true' })).toThrow(/ADMIN_PASSWORD still holds a changeme- placeholder/);
  });
});
