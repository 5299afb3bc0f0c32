import { fileURLToPath } from 'node:url';
import { JWKS_PATH } from '@hubspoke/kit';
import {
  createTestDatabase, deleteTestTopology, eventually, freePort, spawnService, testAmqpUrl, testRedisUrl, uniquePrefix,
  type ServiceProcess, type TestDatabase,
} from '@hubspoke/kit/testing';
import { startGateway, type Gateway } from './gateway.js';

const entry = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const SECRET = 'platform-registry-secret-0123456789';

export interface PlatformOptions {
  /** Put the host's nginx with the gateway template in front of the hub. */
  gateway?: boolean;
  admin?: { email: string; password: string };
  /** Extra variables for the hub (rate limits in tests). */
  hubEnv?: Record<string, string>;
}

export interface Platform {
  /** Where a client talks to: the gateway when there is one, else the hub. */
  url: string;
  prefix: string;
  services: Record<'auth' | 'user' | 'hub', ServiceProcess>;
  gateway: Gateway | undefined;
  stop: () => Promise<void>;
}

/**
 * The platform on the host as a client meets it: auth, user and hub each a process started from its
 * main.ts, on real Postgres (a fresh database each), Redis and RabbitMQ, optionally behind the gateway.
 */
export async function startPlatform({ gateway: withGateway = false, admin, hubEnv = {} }: PlatformOptions = {}): Promise<Platform> {
  const prefix = uniquePrefix('platform');
  const databases: TestDatabase[] = await Promise.all([createTestDatabase('platform_auth'), createTestDatabase('platform_user')]);
  const [authDb, userDb] = databases as [TestDatabase, TestDatabase];
  const [authPort, userPort, hubPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const hub = `http://127.0.0.1:${hubPort}`;
  const shared = {
    REDIS_URL: testRedisUrl(), AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, REGISTRY_SECRET: SECRET, REGISTRY_KEY_PREFIX: prefix,
    // As in compose: the JWKS comes through the hub, spokes never call each other.
    AUTH_JWKS_URL: `${hub}/api/auth${JWKS_PATH}`, AUTH_ISSUER: 'hubspoke-auth', AUTH_AUDIENCE: 'hubspoke', LOG_LEVEL: 'info', DRAIN_DELAY_MS: '100ms',
  };
  const services = {
    auth: spawnService(entry('spokes/auth-service/src/main.ts'), {
      ...shared, PORT: String(authPort), PUBLIC_URL: `http://127.0.0.1:${authPort}`, DATABASE_URL: authDb.url,
      TRUSTED_PROXY_HOPS: withGateway ? '2' : '1', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1',
      ...(admin ? { ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password } : {}),
    }),
    user: spawnService(entry('spokes/user-service/src/main.ts'), {
      ...shared, PORT: String(userPort), PUBLIC_URL: `http://127.0.0.1:${userPort}`, DATABASE_URL: userDb.url,
    }),
    hub: spawnService(entry('hub-orchestrator/src/main.ts'), {
      ...shared, PORT: String(hubPort), AUTH_JWKS_URL: `${hub}/api/auth${JWKS_PATH}`, TRUSTED_PROXY_HOPS: withGateway ? '1' : '0',
      RATE_LIMIT_KEY_PREFIX: `${prefix}:rl`, REGISTRY_RESYNC_MS: '500', ...hubEnv,
    }),
  };
  const gateway = withGateway ? await startGateway({ hubPorts: [hubPort] }) : undefined;
  const url = gateway?.url ?? hub;
  // Both spokes are routed once their records reach the hub: unauthenticated /me is then the hub's own 401.
  await eventually(async () => (await fetch(`${url}/api/auth${JWKS_PATH}`)).status === 200, 60_000, 200);
  await eventually(async () => (await fetch(`${url}/api/users/me`)).status === 401, 30_000, 200);

  return {
    url, prefix, services, gateway,
    stop: async () => {
      await gateway?.stop();
      await Promise.all(Object.values(services).map(async (service) => {
        if (service.child.exitCode !== null || service.child.signalCode !== null) return;
        service.child.kill('SIGTERM');
        await service.exited;
      }));
      await Promise.all(databases.map((db) => db.drop()));
      await deleteTestTopology(prefix, [`${prefix}.user.user-registered`, `${prefix}.auth.user-deleted`]);
    },
  };
}

export interface ApiReply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string; requestId?: string } };
}

/** A JSON client for `/api/*` at `baseUrl`, as a test drives the platform. */
export function apiClient(baseUrl: () => string) {
  return async (method: string, path: string, { token, body, headers = {} }: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiReply> => {
    const res = await fetch(`${baseUrl()}/api${path}`, {
      method,
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as ApiReply['body']) : {} };
  };
}
