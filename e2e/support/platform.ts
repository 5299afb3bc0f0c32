import { fileURLToPath } from 'node:url';
import { JWKS_PATH } from '@hubspoke/kit';
import {
  createTestDatabase, deleteTestTopology, eventually, freePort, spawnService, testAmqpUrl, testRedisUrl, uniquePrefix,
  type ServiceProcess, type TestDatabase, testRegistryKey, TEST_REGISTRY_MASTER_KEY
} from '@hubspoke/kit/testing';
import { startGateway, type Gateway } from './gateway.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A spoke as the platform starts it: `spokes/<name>-service/src/main.ts` on its own fresh database. */
export interface SpokeSpec {
  /** The service name: its folder is `spokes/<name>-service`. */
  name: string;
  /** The hub routes `/api/<prefix>/*` to it; the platform waits until it does. */
  prefix: string;
  /** The queues its consumers declare (after the run's prefix), deleted when the platform stops. */
  queues?: string[];
  /** Variables of its own (secrets, tuning) on top of what every spoke gets. */
  env?: (platform: { withGateway: boolean; admin?: { email: string; password: string } }) => Record<string, string>;
  /** Root of the repository it lives in (a generated copy in tests); this repository by default. */
  root?: string;
}

/** The spokes of this repository, by name. */
export const SPOKES: Record<'auth' | 'user', SpokeSpec> = {
  auth: {
    name: 'auth', prefix: 'auth', queues: ['auth.user-deleted'],
    env: ({ withGateway, admin }) => ({
      // The gateway and the hub each append to X-Forwarded-For.
      TRUSTED_PROXY_HOPS: withGateway ? '2' : '1', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1',
      ...(admin ? { ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password } : {}),
    }),
  },
  user: { name: 'user', prefix: 'users', queues: ['user.user-registered'] },
};

export interface PlatformOptions {
  /** What to start besides the hub; auth and user by default. The auth spoke serves the JWKS every verifier needs. */
  spokes?: SpokeSpec[];
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
  /** Each started process by name: `hub` and every spoke's name. */
  services: Record<string, ServiceProcess>;
  /** One of `services`; throws for a name that was not started. */
  service: (name: string) => ServiceProcess;
  gateway: Gateway | undefined;
  stop: () => Promise<void>;
}

/**
 * The platform on the host as a client meets it: the hub and each spoke a process started from its
 * main.ts, exactly as the images start them, on real Postgres (a fresh database each), Redis and
 * RabbitMQ (a prefix for the run), optionally behind the gateway. Resolves once the hub routes to every spoke.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const { spokes = [SPOKES.auth, SPOKES.user], gateway: withGateway = false, admin, hubEnv = {} } = options;
  const prefix = uniquePrefix('platform');
  const databases: TestDatabase[] = await Promise.all(spokes.map((spoke) => createTestDatabase(`platform_${spoke.name.replace(/-/g, '_')}`)));
  const hubDatabase = await createTestDatabase('platform_hub');
  const hubPort = await freePort();
  const hub = `http://127.0.0.1:${hubPort}`;
  const shared = {
    REDIS_URL: testRedisUrl(), AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, REGISTRY_KEY_PREFIX: prefix,
    // As in compose: the JWKS comes through the hub, spokes never call each other.
    AUTH_JWKS_URL: `${hub}/api/auth${JWKS_PATH}`, AUTH_ISSUER: 'hubspoke-auth', AUTH_AUDIENCE: 'hubspoke', LOG_LEVEL: 'info', DRAIN_DELAY_MS: '100ms',
    // Every response is checked against its route's schema: a mismatch is a 500 the tests see.
    VALIDATE_RESPONSES: 'true',
  };
  const services: Record<string, ServiceProcess> = {};
  services.hub = spawnService(`${ROOT}hub-orchestrator/src/main.ts`, {
    ...shared, PORT: String(hubPort), DATABASE_URL: hubDatabase.url, REGISTRY_MASTER_KEY: TEST_REGISTRY_MASTER_KEY, TRUSTED_PROXY_HOPS: withGateway ? '1' : '0', RATE_LIMIT_KEY_PREFIX: `${prefix}:rl`, REGISTRY_RESYNC_MS: '500', ...hubEnv,
  });
  for (const [index, spoke] of spokes.entries()) {
    const port = await freePort();
    services[spoke.name] = spawnService(`${spoke.root ?? ROOT}spokes/${spoke.name}-service/src/main.ts`, {
      ...shared, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, DATABASE_URL: databases[index]!.url, REGISTRY_KEY: testRegistryKey(spoke.name),
      ...spoke.env?.({ withGateway, admin }),
    });
  }
  const gateway = withGateway ? await startGateway({ hubPorts: [hubPort] }) : undefined;
  const url = gateway?.url ?? hub;
  // Routed once the hub has a ready instance for the prefix: anything but its own "no such route" or "no instance".
  for (const spoke of spokes) {
    await eventually(async () => {
      const res = await fetch(`${url}/api/${spoke.prefix}/`);
      const body = await res.text();
      return res.status !== 503 && !(res.status === 404 && body.includes('ROUTE.NOT_FOUND'));
    }, 60_000, 200);
  }
  if (spokes.some((spoke) => spoke.name === 'auth')) {
    await eventually(async () => (await fetch(`${url}/api/auth${JWKS_PATH}`)).status === 200, 30_000, 200);
  }

  return {
    url, prefix, services, gateway,
    service: (name) => {
      const started = services[name];
      if (!started) throw new Error(`the platform started no service named ${name}`);
      return started;
    },
    stop: async () => {
      await gateway?.stop();
      await Promise.all(Object.values(services).map(async (service) => {
        if (service.child.exitCode !== null || service.child.signalCode !== null) return;
        service.child.kill('SIGTERM');
        await service.exited;
      }));
      await Promise.all([...databases, hubDatabase].map((db) => db.drop()));
      await deleteTestTopology(prefix, [`${prefix}.hub.task-results`, ...spokes.flatMap((spoke) => (spoke.queues ?? []).map((queue) => `${prefix}.${queue}`))]);
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
