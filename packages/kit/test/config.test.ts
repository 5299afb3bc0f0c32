import { describe, expect, test } from 'vitest';
import { ConfigError, envReader } from '../src/config.js';
import { readRegistrationEnv, readRegistryMasterKey } from '../src/service/service-env.js';

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

describe('registry credentials in the environment', () => {
  const spoke = (env: NodeJS.ProcessEnv) => {
    const read = envReader(env);
    const config = readRegistrationEnv(read);
    read.assertValid('spoke');
    return config;
  };
  const hub = (env: NodeJS.ProcessEnv) => {
    const read = envReader(env);
    const masterKey = readRegistryMasterKey(read);
    read.assertValid('hub');
    return masterKey;
  };
  const REDIS_URL = 'redis://redis:6379';

  test('when a spoke has its own REGISTRY_KEY, then it signs with it', () => {
    expect(spoke({ REDIS_URL, REGISTRY_KEY: 'a-derived-registry-key-0123' })).toMatchObject({ registryKey: 'a-derived-registry-key-0123' });
  });

  test('when a spoke or the hub still sets the retired REGISTRY_SECRET, then the start fails naming it and how to derive a key', () => {
    expect(() => spoke({ REDIS_URL, REGISTRY_SECRET: 'the-old-shared-secret-0123', REGISTRY_KEY: 'a-derived-registry-key-0123' }))
      .toThrow(/REGISTRY_SECRET is no longer used: each service signs with its own REGISTRY_KEY; derive it with `npm run registry:key -- <service>`/);
    expect(() => hub({ REGISTRY_SECRET: 'the-old-shared-secret-0123', REGISTRY_MASTER_KEY: 'm'.repeat(40) }))
      .toThrow(/REGISTRY_SECRET is no longer used: the hub verifies each service with a key derived from REGISTRY_MASTER_KEY/);
  });

  test('when a spoke has no REGISTRY_KEY, then the start says how to derive one', () => {
    expect(() => spoke({ REDIS_URL })).toThrow('REGISTRY_KEY is missing: derive it with `npm run registry:key -- <service>`');
  });

  test('when the hub master key is shorter than 32 characters or a production placeholder, then it is refused', () => {
    expect(() => hub({ REGISTRY_MASTER_KEY: 'too-short-master' })).toThrow('REGISTRY_MASTER_KEY is shorter than 32 characters');
    expect(() => hub({ REGISTRY_MASTER_KEY: 'changeme-registry-master-key-0123456789', HUBSPOKE_PRODUCTION: 'true' }))
      .toThrow('REGISTRY_MASTER_KEY still holds a changeme- placeholder');
  });
});
