import { fileURLToPath } from 'node:url';
import { JWKS_PATH } from '@hubspoke/kit';
import {
  createTestDatabase, deleteTestTopology, eventually, freePort, spawnService, testAmqpUrl, testPostgresUrl, testRedisUrl, uniquePrefix,
  type ServiceProcess, testRegistryKey, TEST_REGISTRY_MASTER_KEY,
} from '@hubspoke/kit/testing';
import { startGateway, type Gateway } from './gateway.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A spoke as the platform starts it: its main script (`spokes/<name>-service/src/main.ts`) on its own fresh database. */
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
  /** Its main script relative to `root`, when it is not `spokes/<name>-service/src/main.ts` (a test fixture). */
  main?: string;
}

/** The spokes of this repository, by name. */
export const SPOKES: Record<'auth' | 'user' | 'notification' | 'analytics' | 'tasker', SpokeSpec> = {
  auth: {
    name: 'auth', prefix: 'auth', queues: ['auth.user-deleted'],
    env: ({ withGateway, admin }) => ({
      // The gateway and the hub each append to X-Forwarded-For.
      TRUSTED_PROXY_HOPS: withGateway ? '2' : '1', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1',
      AUTH_KEY_ENCRYPTION_KEY: 'platform-test-key-encryption-key-0123456789',
      ...(admin ? { ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password } : {}),
    }),
  },
  user: { name: 'user', prefix: 'users', queues: ['user.user-registered'] },
  // Email goes to the SMTP server the test passes in env (SMTP_HOST, SMTP_PORT).
  notification: { name: 'notification', prefix: 'notifications', queues: ['notification.user-registered', 'notification.user-deleted', 'notification.account-email', 'notification.tasks.notification.send'] },
  analytics: { name: 'analytics', prefix: 'analytics', queues: ['analytics.events', 'analytics.tasks.analytics.aggregate'] },
  // The hub's jobs test spoke: serves `test.work` items that succeed, fail a given number of times, or answer throttled.
  tasker: {
    name: 'tasker', prefix: 'tasker', main: 'hub-orchestrator/test/fixtures/task-spoke-main.ts',
    queues: ['tasker.tasks.test.work', 'tasker.tasks.test.admin_only', 'tasker.tasks.test.noop'],
  },
};

export interface PlatformOptions {
  /** What to start besides the hub; auth and user by default. The auth spoke serves the JWKS every verifier needs. */
  spokes?: SpokeSpec[];
  /** Instances per spoke name (1 unless given): replicas share the spoke's database, as `--scale` does. */
  replicas?: Record<string, number>;
  /** Hub replicas (1 unless given); with a gateway, nginx balances over all of them. */
  hubs?: number;
  /** Put the host's nginx with the gateway template in front of the hub. */
  gateway?: boolean;
  admin?: { email: string; password: string };
  /** Extra variables for the hub (rate limits in tests). */
  hubEnv?: Record<string, string>;
  /**
   * Servers of the test's own (private Postgres, Redis, RabbitMQ) instead of the shared ones: outage tests stop them.
   * The platform then leaves databases and queues to the caller, who removes the servers.
   */
  infra?: PlatformInfra;
}

export interface PlatformInfra {
  /** A superuser URL: each service gets a fresh database on this server. */
  postgresUrl: string;
  redisUrl: string;
  amqpUrl: string;
}

/** One started process of the platform and where it listens. */
export interface Instance {
  process: ServiceProcess;
  url: string;
}

export interface Platform {
  /** Where a client talks to: the gateway when there is one, else the first hub. */
  url: string;
  prefix: string;
  /** The first process of each service by name: `hub` and every spoke's name. */
  services: Record<string, ServiceProcess>;
  /** One of `services`; throws for a name that was not started. */
  service: (name: string) => ServiceProcess;
  /** Every process of a service (`hub` or a spoke's name), in start order, including those started later. */
  instances: (name: string) => Instance[];
  /**
   * Starts one more instance of a spoke on its database and resolves once it has registered (or at once, with
   * `registered: false`, for a test that watches it start); `env` adds variables of this instance's own (tuning).
   */
  startInstance: (name: string, options?: { registered?: boolean; env?: Record<string, string> }) => Promise<Instance>;
  /** The database URL each service was given, by name. */
  databases: Record<string, string>;
  gateway: Gateway | undefined;
  stop: () => Promise<void>;
}

/**
 * The platform on the host as a client meets it: the hub and each spoke a process started from its
 * main.ts, exactly as the images start them, on real Postgres (a fresh database each), Redis and
 * RabbitMQ (a prefix for the run), optionally behind the gateway. Resolves once the hub routes to every spoke.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const { spokes = [SPOKES.auth, SPOKES.user], replicas = {}, hubs: hubCount = 1, gateway: withGateway = false, admin, hubEnv = {}, infra } = options;
  const prefix = uniquePrefix('platform');
  const adminUrl = infra?.postgresUrl ?? testPostgresUrl();
  const spokeDatabases = await Promise.all(spokes.map((spoke) => createTestDatabase(`platform_${spoke.name.replace(/-/g, '_')}`, adminUrl)));
  const hubDatabase = await createTestDatabase('platform_hub', adminUrl);
  const hubPorts = await Promise.all(Array.from({ length: hubCount }, () => freePort()));
  const hub = `http://127.0.0.1:${hubPorts[0]}`;
  const shared = {
    REDIS_URL: infra?.redisUrl ?? testRedisUrl(), AMQP_URL: infra?.amqpUrl ?? testAmqpUrl(), AMQP_PREFIX: prefix, REGISTRY_KEY_PREFIX: prefix,
    // As in compose: the JWKS comes through the hub, spokes never call each other.
    AUTH_JWKS_URL: `${hub}/api/auth${JWKS_PATH}`, AUTH_ISSUER: 'hubspoke-auth', AUTH_AUDIENCE: 'hubspoke', LOG_LEVEL: 'info', DRAIN_DELAY_MS: '100ms',
    // Every response is checked against its route's schema: a mismatch is a 500 the tests see.
    VALIDATE_RESPONSES: 'true',
  };
  const started: Record<string, Instance[]> = { hub: [] };
  for (const port of hubPorts) {
    started.hub!.push({
      url: `http://127.0.0.1:${port}`,
      process: spawnService(`${ROOT}hub-orchestrator/src/main.ts`, {
        ...shared, PORT: String(port), DATABASE_URL: hubDatabase.url, REGISTRY_MASTER_KEY: TEST_REGISTRY_MASTER_KEY, TRUSTED_PROXY_HOPS: withGateway ? '1' : '0', RATE_LIMIT_KEY_PREFIX: `${prefix}:rl`, REGISTRY_RESYNC_MS: '500', ...hubEnv,
      }),
    });
  }
  const specs = new Map(spokes.map((spoke, index) => [spoke.name, { spoke, database: spokeDatabases[index]! }]));
  const spawnSpoke = async (name: string, env: Record<string, string> = {}): Promise<Instance> => {
    const { spoke, database } = specs.get(name) ?? unknown(name);
    const port = await freePort();
    const instance = {
      url: `http://127.0.0.1:${port}`,
      process: spawnService(`${spoke.root ?? ROOT}${spoke.main ?? `spokes/${spoke.name}-service/src/main.ts`}`, {
        ...shared, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, DATABASE_URL: database.url, REGISTRY_KEY: testRegistryKey(spoke.name),
        ...spoke.env?.({ withGateway, admin }), ...env,
      }),
    };
    (started[name] ??= []).push(instance);
    return instance;
  };
  for (const spoke of spokes) for (let i = 0; i < (replicas[spoke.name] ?? 1); i++) await spawnSpoke(spoke.name);
  const gateway = withGateway ? await startGateway({ hubPorts }) : undefined;
  const url = gateway?.url ?? hub;
  // Routed by every hub once it has a ready instance for the prefix: anything but its own "no such route" or "no instance".
  for (const { url: hubUrl, process: hubProcess } of started.hub!) {
    for (const spoke of spokes) {
      await whileAlive(hubProcess, 'the hub', eventually(async () => {
        const res = await fetch(`${hubUrl}/api/${spoke.prefix}/`);
        const body = await res.text();
        return res.status !== 503 && !(res.status === 404 && body.includes('ROUTE.NOT_FOUND'));
      }, 60_000, 200));
    }
  }
  await Promise.all(Object.entries(started).filter(([name]) => name !== 'hub').flatMap(([, list]) => list.map(registered)));
  if (spokes.some((spoke) => spoke.name === 'auth')) {
    await eventually(async () => (await fetch(`${url}/api/auth${JWKS_PATH}`)).status === 200, 30_000, 200);
  }

  const services = Object.fromEntries(Object.entries(started).map(([name, list]) => [name, list[0]!.process]));
  return {
    url, prefix, services, gateway,
    databases: { hub: hubDatabase.url, ...Object.fromEntries([...specs].map(([name, { database }]) => [name, database.url])) },
    service: (name) => services[name] ?? unknown(name),
    instances: (name) => started[name] ?? unknown(name),
    startInstance: async (name, { registered: wait = true, env } = {}) => {
      const instance = await spawnSpoke(name, env);
      if (wait) await registered(instance);
      return instance;
    },
    stop: async () => {
      await gateway?.stop();
      await Promise.all(Object.values(started).flat().map(({ process }) => stopProcess(process)));
      if (infra) return;
      await Promise.all([...spokeDatabases, hubDatabase].map((db) => db.drop()));
      await deleteTestTopology(prefix, [`${prefix}.hub.task-results`, ...spokes.flatMap((spoke) => (spoke.queues ?? []).map((queue) => `${prefix}.${queue}`))]);
    },
  };
}

function unknown(name: string): never {
  throw new Error(`the platform started no service named ${name}`);
}

/** Resolves once a spoke instance has written its registry record (it exits 1 instead when it cannot start). */
async function registered({ process }: Instance): Promise<void> {
  await whileAlive(process, 'a spoke', eventually(() => process.logs.some((line) => line.msg === 'registry: instance registered'), 60_000, 100));
}

/** `waiting`, unless the process exits first: then fails at once with its exit code and last words. */
async function whileAlive<T>(service: ServiceProcess, name: string, waiting: Promise<T>): Promise<T> {
  const exited = service.exited.then((code): never => {
    throw new Error(`${name} exited with ${code} while the platform started: ${lastWords(service)}`);
  });
  exited.catch(() => {}); // once `waiting` won, the exit at the end of the test is no error
  return Promise.race([waiting, exited]);
}

function lastWords(service: ServiceProcess): string {
  const errors = service.logs.filter((line) => line.level === 'error' || line.level === 'fatal').slice(-3);
  return JSON.stringify(errors) + service.stderr().slice(-1_000);
}

/** SIGTERM (after SIGCONT, for a process a test hung), then SIGKILL if it has not exited within 15 s. */
async function stopProcess(service: ServiceProcess): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.child.kill('SIGCONT');
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), 15_000);
  await service.exited;
  clearTimeout(timer);
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
