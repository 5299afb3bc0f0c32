import { describe, expect, test } from 'vitest';
import { ConfigError, envReader } from '../src/config.js';

function load(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = {
    port: read.port('PORT', 3000),
    databaseUrl: read.url('DATABASE_URL'),
    drainDelayMs: read.durationMs('DRAIN_DELAY', 5000),
    logLevel: read.oneOf('LOG_LEVEL', ['info', 'debug'] as const, 'info'),
    registrySecret: read.secret('REGISTRY_SECRET'),
  };
  read.assertValid('demo');
  return config;
}

const VALID = { DATABASE_URL: 'postgres://db/demo', REGISTRY_SECRET: 'a-long-enough-secret-value' };

describe('envReader', () => {
  test('when every variable is valid, then it returns typed values and defaults', () => {
    expect(load({ ...VALID, DRAIN_DELAY: '2s', PORT: '3100' })).toEqual({
      port: 3100, databaseUrl: VALID.DATABASE_URL, drainDelayMs: 2000, logLevel: 'info', registrySecret: VALID.REGISTRY_SECRET,
    });
  });

  test('when several variables are bad, then one error names every one of them', () => {
    const attempt = () => load({ PORT: '70000', DATABASE_URL: 'not a url', LOG_LEVEL: 'loud', DRAIN_DELAY: 'soon' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      'demo: invalid configuration: PORT is not a port (1-65535); DATABASE_URL is not a URL; DRAIN_DELAY is not a duration (e.g. 500ms, 5s, 2m); LOG_LEVEL is not one of info, debug; REGISTRY_SECRET is missing',
    );
  });

  test('when a secret is missing, then there is no default to fall back on', () => {
    expect(() => load({ DATABASE_URL: VALID.DATABASE_URL })).toThrow('REGISTRY_SECRET is missing');
  });

  test('when production runs with a changeme- placeholder secret, then the start is refused', () => {
    const placeholder = { ...VALID, REGISTRY_SECRET: 'changeme-registry-secret' };
    expect(() => load(placeholder)).not.toThrow();
    expect(() => load({ ...placeholder, HUBSPOKE_PRODUCTION: 'true' })).toThrow('REGISTRY_SECRET still holds a changeme- placeholder');
  });

  test('when production runs with a changeme- placeholder password inside a connection URL, then the start is refused', () => {
    const placeholder = { ...VALID, DATABASE_URL: 'postgres://users:changeme-users-db-password@postgres:5432/users' };
    expect(() => load(placeholder)).not.toThrow();
    expect(() => load({ ...placeholder, HUBSPOKE_PRODUCTION: 'true' })).toThrow('DATABASE_URL still holds a changeme- placeholder password');
    expect(() => load({ ...VALID, DATABASE_URL: 'postgres://users:a-real-password@postgres:5432/users', HUBSPOKE_PRODUCTION: 'true' })).not.toThrow();
  });

  test('when a secret is too short, then it is refused', () => {
    expect(() => load({ ...VALID, REGISTRY_SECRET: 'short' })).toThrow('REGISTRY_SECRET is shorter than 16 characters');
  });
});
