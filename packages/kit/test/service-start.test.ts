import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createLogger, createStaticKeySource, createTokenVerifier, envReader, readAmqpEnv, readInstanceEnv, readPostgresEnv, readTokenEnv,
  startService, type ServiceDefinition,
} from '../src/index.js';
import {
  captureLogs, createTestDatabase, createTestKeys, deleteTestTopology, signTestToken, spawnService, TEST_AUDIENCE, TEST_ISSUER, testAmqpUrl,
  testPostgresUrl, testRedisUrl, testRegistryKey, uniquePrefix, type TestDatabase,
} from '../src/testing/index.js';

const EXAMPLE_MAIN = fileURLToPath(new URL('./fixtures/example-service/main.ts', import.meta.url));
const prefix = uniquePrefix('start');
let database: TestDatabase;

function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = { ...readInstanceEnv(read, { port: 0 }), ...readPostgresEnv(read), ...readAmqpEnv(read), ...readTokenEnv(read) };
  read.assertValid('probe');
  return config;
}
type ProbeConfig = ReturnType<typeof loadConfig>;

const config = () => loadConfig({
  DATABASE_URL: database.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, REDIS_URL: testRedisUrl(), REGISTRY_KEY_PREFIX: `${prefix}:`,
  REGISTRY_KEY: testRegistryKey('probe'), AUTH_JWKS_URL: 'http://127.0.0.1:9/unused', DRAIN_DELAY_MS: '0',
});

beforeAll(async () => {
  database = await createTestDatabase('service_start');
});

afterAll(async () => {
  await deleteTestTopology(prefix);
  await database.drop();
});

describe('startService', () => {
  test('when the config names a database, a broker and a JWKS, then the context holds a migrated pool, a connected bus and a verifier', async () => {
    const keys = await createTestKeys();
    const verifier = createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
    const definition: ServiceDefinition<ProbeConfig, { started: number }> = {
      name: 'probe', version: '1.0.0', config: config(),
      domain: () => ({ started: 1 }),
      createApp: ({ db, bus, verifier: v, domain }) => async (_req, res) => {
        const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
        res.end(JSON.stringify({ outboxRows: rows[0]!.n, connected: bus.isConnected(), verifier: typeof v.verify, domain }));
      },
    };
    const service = await startService(definition, { port: 0, exit: () => undefined, logger: createLogger({ service: 'probe', level: 'silent' }), verifier });
    try {
      expect(await (await fetch(service.url)).json()).toEqual({ outboxRows: 0, connected: true, verifier: 'function', domain: { started: 1 } });
      await expect(service.context.verifier.verify(await signTestToken(keys, { sub: 'u-1', role: 'user' }))).resolves.toMatchObject({ userId: 'u-1' });
      // Every line it logs names this process, and its metrics show its pool.
      expect(service.context.logger.bindings()).toMatchObject({ instanceId: expect.stringMatching(/-[0-9a-f]{8}$/) });
      expect(await service.context.metrics.registry.getSingleMetricAsString('db_pool_connections')).toMatch(/db_pool_connections\{state="waiting",service="probe"\} 0/);
    } finally {
      await service.shutdown();
    }
  });

  test('when it shuts down, then the server, relay and bus stop before the service\'s own steps (last started, first stopped), and the pool closes last', async () => {
    const order: string[] = [];
    const service = await startService<ProbeConfig, undefined>({
      name: 'probe', version: '1.0.0', config: config(),
      domain: ({ db, bus, onStop }) => {
        onStop('first own step', async () => {
          order.push(`first: bus connected ${bus.isConnected()}`);
          await db.query('SELECT 1');
          order.push('first: pool still open');
        });
        onStop('second own step', () => order.push('second'));
        return undefined;
      },
      createApp: () => (_req, res) => res.end('ok'),
    }, { port: 0, exit: (code) => order.push(`exit ${code}`), logger: createLogger({ service: 'probe', level: 'silent' }) });
    await service.shutdown('test');
    expect(order).toEqual(['second', 'first: bus connected false', 'first: pool still open', 'exit 0']);
    await expect(fetch(service.url)).rejects.toThrow();
    await expect(service.context.db.query('SELECT 1')).rejects.toThrow(/after calling end|ended/i);
  });

  test('when a start step fails, then what was opened is closed and the error reaches the caller', async () => {
    const migrations = await mkdtemp(join(tmpdir(), 'hubspoke-migrations-'));
    await writeFile(join(migrations, '0001_broken.sql'), 'CREATE TABLE broken (;');
    const { stream, lines } = captureLogs();
    const logger = createLogger({ service: 'probe', level: 'info', destination: stream });
    const started = startService<ProbeConfig, undefined>({
      name: 'probe', version: '1.0.0', config: config(), migrationsDir: migrations,
      domain: () => undefined, createApp: () => (_req, res) => res.end('ok'),
    }, { port: 0, exit: () => undefined, logger });
    await expect(started).rejects.toThrow(/syntax error/);
    expect(lines.some((line) => line.msg === 'probe service started')).toBe(false);
    // The pool was ended: nothing of this service is left connected to its database.
    const admin = new pg.Client({ connectionString: testPostgresUrl() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [database.name, 'probe']);
      expect(rows[0]!.n).toBe(0);
    } finally {
      await admin.end();
    }
  });
});

describe('runService', () => {
  test('when the configuration is invalid, then the process prints one line naming every problem and exits 1', async () => {
    const service = spawnService(EXAMPLE_MAIN, { DATABASE_URL: '', REDIS_URL: 'not a url', REGISTRY_KEY: '', PORT: '70000' });
    let stderr = '';
    service.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    expect(await service.exited).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^example: invalid configuration: .*PORT.*REDIS_URL is not a URL.*REGISTRY_KEY is missing: derive it with `npm run registry:key -- <service>`.*DATABASE_URL is missing/),
    ]);
  });
});
