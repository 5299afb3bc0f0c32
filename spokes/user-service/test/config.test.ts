import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.js';

const REQUIRED = {
  DATABASE_URL: 'postgres://users:pw@postgres:5432/users', REDIS_URL: 'redis://redis:6379', AMQP_URL: 'amqp://rabbitmq:5672',
  REGISTRY_KEY: 'a-registry-key-0123456789', AUTH_JWKS_URL: 'http://hub:3000/api/auth/.well-known/jwks.json',
};

describe('loadConfig', () => {
  test('when only the required variables are set, then the rest takes the documented defaults', () => {
    expect(loadConfig(REQUIRED)).toMatchObject({
      port: 3002, amqpPrefix: '', registryKeyPrefix: '', drainDelayMs: 5000, shutdownTimeoutMs: 30_000, logLevel: 'info',
      auth: { jwksUrl: REQUIRED.AUTH_JWKS_URL, issuer: 'hubspoke-auth', audience: 'hubspoke' },
    });
  });

  test('when variables are missing or malformed, then one error names every one of them', () => {
    expect(() => loadConfig({ ...REQUIRED, DATABASE_URL: undefined, AUTH_JWKS_URL: 'not a url', DRAIN_DELAY_MS: '40s' }))
      .toThrow('user: invalid configuration: DRAIN_DELAY_MS must be shorter than SHUTDOWN_TIMEOUT_MS; DATABASE_URL is missing; AUTH_JWKS_URL is not a URL');
  });

  test('when production still has a placeholder secret, then the start is refused', () => {
    expect(() => loadConfig({ ...REQUIRED, HUBSPOKE_PRODUCTION: 'true', REGISTRY_KEY: 'changeme-registry-key-0123456789' }))
      .toThrow(/REGISTRY_KEY still holds a changeme- placeholder/);
  });
});
