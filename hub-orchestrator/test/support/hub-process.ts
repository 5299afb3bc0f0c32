import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  createTestDatabase, deleteTestTopology, freePort, spawnService, eventually, testAmqpUrl, testRabbitMqManagementUrl, testRedisUrl, type ServiceProcess, type TestKeys,
  TEST_AUDIENCE, TEST_ISSUER, TEST_REGISTRY_MASTER_KEY
} from '@hubspoke/kit/testing';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface HubProcess {
  process: ServiceProcess;
  url: string;
  /** The hub's own database. */
  databaseUrl: string;
  /** After the process is gone: drops its database and deletes its queues. */
  cleanup: () => Promise<void>;
}

/** Serves `keys` as the auth spoke would, so a hub process verifies tokens through its real JWKS path. */
export async function startJwksServer(keys: TestKeys): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(keys.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The hub as it runs in production: src/main.ts in its own process, configured only by env, with a database of its own. */
export async function startHubProcess({ keyPrefix, jwksUrl, env = {} }: { keyPrefix: string; jwksUrl: string; env?: Record<string, string> }): Promise<HubProcess> {
  const port = await freePort();
  const database = await createTestDatabase('hub_process');
  const amqpPrefix = keyPrefix.replace(/[^A-Za-z0-9.-]/g, '');
  const child = spawnService(MAIN, {
    PORT: String(port), REDIS_URL: testRedisUrl(), REGISTRY_MASTER_KEY: TEST_REGISTRY_MASTER_KEY, REGISTRY_KEY_PREFIX: keyPrefix,
    AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE, DATABASE_URL: database.url, AMQP_URL: testAmqpUrl(),
    AMQP_PREFIX: amqpPrefix, RABBITMQ_MANAGEMENT_URL: testRabbitMqManagementUrl(), RATE_LIMIT_KEY_PREFIX: `${keyPrefix}rl`, LOG_LEVEL: 'warn', ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/ready`)).status === 200, 20_000);
  return {
    process: child,
    url,
    databaseUrl: database.url,
    cleanup: async () => {
      await database.drop();
      await deleteTestTopology(amqpPrefix, [`${amqpPrefix}.hub.task-results`]);
    },
  };
}
