import type { RequestListener, Server } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError } from '../config.js';
import { createJwksKeySource } from '../auth/jwks-key-source.js';
import { createTokenVerifier, type TokenVerifier } from '../auth/token-verifier.js';
import { cacheVerifiedClaims } from '../auth/verified-claims-cache.js';
import { createPool, type Pool, type PoolOptions } from '../db/pool.js';
import { instrumentPool } from '../db/pool-metrics.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import { closeServer, listen, serverPort } from '../http/server.js';
import { createLifecycle, type Lifecycle, type ShutdownStep } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { connectBus, type Bus, type BusOptions } from '../messaging/bus.js';
import type { ConsumeOptions } from '../messaging/consumer.js';
import { MESSAGING_MIGRATIONS_DIR } from '../messaging/outbox.js';
import type { ConsumerQueues } from '../messaging/topology.js';
import { startOutboxRelay, type OutboxRelayOptions } from '../messaging/outbox-relay.js';
import type { Registration } from '../registry/client.js';
import type { TaskServer } from '../tasks/serve-tasks.js';
import { newInstanceId } from '../registry/instance-id.js';
import { deriveInstanceUrl } from '../registry/instance-url.js';
import { prepareDatabase } from './prepare-database.js';
import { registerService, type RegistrationSpec } from './registration.js';
import { startingApp } from './starting-app.js';
import type { AmqpEnv, PostgresEnv, ProcessEnv, RegistrationEnv, TokenEnv } from './service-env.js';

/**
 * What every service gets from the kit, by what its config holds: a `databaseUrl` gives it a migrated
 * pool (`db`), an `amqpUrl` a bus (`bus`, plus the outbox relay when it also has a database), an
 * `auth.jwksUrl` a token verifier (`verifier`).
 */
export type ServiceContext<C extends ProcessEnv> = {
  config: C;
  logger: Logger;
  metrics: Metrics;
  lifecycle: Pick<Lifecycle, 'isDraining'>;
  /** A shutdown step for something the service started itself: runs after the server, relay and bus stop, before the pool closes. */
  onStop: (name: string, run: ShutdownStep['run']) => void;
} & (C extends PostgresEnv ? { db: Pool } : unknown)
  & (C extends AmqpEnv ? { bus: Bus } : unknown)
  & (C extends TokenEnv ? { verifier: TokenVerifier } : unknown);

/** What `createApp` and the consumers receive: the kit's context plus the service's own domain. */
export type AppContext<C extends ProcessEnv, D> = ServiceContext<C> & { domain: D };

export interface ServiceDefinition<C extends ProcessEnv, D> {
  /** Logs, metrics, queue names and the registry record carry it. */
  name: string;
  version: string;
  config: C;
  /** This service's numbered SQL migrations, applied after the kit's own (outbox, processed messages). */
  migrationsDir?: string;
  /** Spokes register with the hub; the hub itself does not. Needs the registration variables in the config. */
  registration?: RegistrationSpec;
  /** Builds the service's flows once infrastructure is up; start-up work (first admin, key ring) goes here. */
  domain: (context: ServiceContext<C>) => D | Promise<D>;
  consumers?: (context: AppContext<C, D>) => ConsumeOptions[];
  /** The task types this spoke serves (`serveTasks`): consumed like `consumers` and declared in its registry record. */
  tasks?: (context: AppContext<C, D>) => TaskServer[];
  createApp: (context: AppContext<C, D>) => RequestListener;
}

/** Settings a test turns down (faster reconnects, fewer retries); production uses the kit's defaults. */
export interface StartOptions {
  logger?: Logger;
  /** Called at the end of a shutdown; `process.exit` for a real process. */
  exit?: (code: number) => void;
  /** Listen for SIGTERM/SIGINT and uncaught errors (a real process does; a test does not). */
  signals?: boolean;
  /** Listen here instead of `config.port` (tests: 0). */
  port?: number;
  pool?: Partial<Omit<PoolOptions, 'connectionString'>>;
  bus?: Partial<Pick<BusOptions, 'reconnectDelayMs' | 'connectTimeoutMs' | 'confirmTimeoutMs' | 'heartbeatSeconds'>>;
  relay?: Partial<Pick<OutboxRelayOptions, 'pollIntervalMs' | 'retryDelayMs' | 'batchSize'>>;
  consumers?: Partial<Pick<ConsumeOptions, 'maxAttempts' | 'retryDelaysMs'>>;
  /** Verifies tokens with this instead of the JWKS at `config.auth.jwksUrl` (tests sign with their own keys). */
  verifier?: TokenVerifier;
}

export interface RunningService<C extends ProcessEnv, D> {
  context: AppContext<C, D>;
  app: RequestListener;
  server: Server;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  registration: Registration | undefined;
  /** The queues each consumer declared, in the order of `definition.consumers`, then those of `definition.tasks`. */
  queues: ConsumerQueues[];
  /** The same shutdown SIGTERM runs: drain, wait the drain delay, stop in order. */
  shutdown: (reason?: string) => Promise<void>;
}

/** A shutdown (SIGTERM while waiting for the database, say) stopped the start: not a failure, the lifecycle exits. */
export class StartAbandonedError extends Error {
  override readonly name = 'StartAbandonedError';
}

/**
 * Starts a service in the one order every service uses. It listens first, live at once and not ready
 * (`startingApp`); then pool → migrations (waiting for Postgres as long as it takes, with backoff) → bus →
 * verifier → domain → consumers → outbox relay → app (takes over the server) → register. Only a ready instance is
 * ever registered. A shutdown meanwhile abandons the start and closes what it opened; a start that fails for a
 * reason waiting cannot fix (configuration, a broken migration) closes it all and rejects. Shutdown runs the
 * reverse: registry draining, drain delay, deregister, server, outbox relay, bus (consumers finish), the service's
 * own steps, pool.
 */
export async function startService<C extends ProcessEnv, D>(
  definition: ServiceDefinition<C, D>, options: StartOptions = {},
): Promise<RunningService<C, D>> {
  const { name, config } = definition;
  const instanceId = newInstanceId();
  // Every line names the instance that wrote it: with `--scale`, that is how a request's lines are told apart.
  const logger = (options.logger ?? createLogger({ service: name, level: config.logLevel })).child({ instanceId });
  const lifecycle = createLifecycle({ logger, drainDelayMs: config.drainDelayMs, timeoutMs: config.shutdownTimeoutMs, exit: options.exit });
  if (options.signals) lifecycle.installSignalHandlers();
  // Steps are collected per stage and handed to the lifecycle once the service has started, so the order
  // holds whatever order the pieces were created in; a start that stops early runs them itself.
  const steps = { serving: [] as ShutdownStep[], transport: [] as ShutdownStep[], own: [] as ShutdownStep[], pool: [] as ShutdownStep[] };
  const ordered = () => [...steps.serving, ...steps.transport, ...[...steps.own].reverse(), ...steps.pool];
  const metrics = createMetrics({ service: name });
  const context: Record<string, unknown> = {
    config, logger, metrics, lifecycle: { isDraining: lifecycle.isDraining },
    onStop: (stepName: string, run: ShutdownStep['run']) => steps.own.push({ name: stepName, run }),
  };
  const abandon = new AbortController();
  let started = false;
  const stopEarly = async (error: unknown): Promise<never> => {
    for (const step of ordered()) await Promise.resolve(step.run()).catch(() => undefined);
    throw abandon.signal.aborted ? abandon.signal.reason : error;
  };
  const proceed = () => abandon.signal.throwIfAborted();

  const start = async (): Promise<RunningService<C, D>> => {
    if (definition.registration && !isRegistrationEnv(config)) throw new Error(`${name}: registering with the hub needs REDIS_URL and REGISTRY_KEY in the config`);
    const db = hasString(config, 'databaseUrl') ? createPool({ connectionString: config.databaseUrl, applicationName: name, ...options.pool }, logger) : undefined;
    let missing = db ? ['postgres'] : [];
    let handler: RequestListener = startingApp({ logger, metrics, isDraining: lifecycle.isDraining, missing: () => missing });
    const server = await listen((req, res) => handler(req, res), { port: options.port ?? config.port });
    steps.serving.push({ name: 'http server', run: () => closeServer(server) });
    // Known before any wait: an address that cannot be advertised is a configuration error.
    const url = definition.registration && isRegistrationEnv(config) ? deriveInstanceUrl({ port: serverPort(server), override: config.publicUrl, subnet: config.advertiseSubnet }) : undefined;
    logger.info({ port: serverPort(server) }, `${name} listening: live, ready once started`);

    if (db) {
      context.db = db;
      instrumentPool(db, metrics.registry);
      steps.pool.push({ name: 'postgres pool', run: () => db.end() });
      await prepareDatabase(db, [MESSAGING_MIGRATIONS_DIR, ...definition.migrationsDir ? [definition.migrationsDir] : []], logger, abandon.signal);
      proceed();
      missing = [];
    }
    let bus: Bus | undefined;
    if (hasString(config, 'amqpUrl')) {
      // Resolves after the first attempt even with the broker down: the service starts and catches up later.
      const connected = await connectBus({
        url: config.amqpUrl, service: name, prefix: (config as Partial<AmqpEnv>).amqpPrefix ?? '', logger, registry: metrics.registry, ...options.bus,
      });
      bus = connected;
      context.bus = connected;
      steps.transport.push({ name: 'amqp: consumers and connection', run: () => connected.close() });
      proceed();
    }
    const auth = (config as Partial<TokenEnv>).auth;
    if (options.verifier) context.verifier = options.verifier;
    else if (auth && typeof auth.jwksUrl === 'string') {
      const keys = createJwksKeySource({ url: auth.jwksUrl, logger });
      context.verifier = cacheVerifiedClaims(createTokenVerifier({ keys, issuer: auth.issuer, audience: auth.audience }));
    }

    context.domain = await definition.domain(context as ServiceContext<C>);
    proceed();
    const appContext = context as AppContext<C, D>;
    const tasks = definition.tasks?.(appContext) ?? [];
    if (tasks.length > 0 && (!db || !definition.registration || !bus)) throw new Error(`${name}: serving tasks needs DATABASE_URL, AMQP_URL and a registration`);
    const consumers = [...definition.consumers?.(appContext) ?? [], ...tasks.map((task) => task.consumer({ db: db!, bus: bus!, service: name }))];
    if (consumers.length > 0 && !bus) throw new Error(`${name}: consumers need AMQP_URL in the config`);
    const queues: ConsumerQueues[] = [];
    if (bus) {
      const connected = bus;
      // The service's retry schedule (MESSAGING_RETRY_DELAYS, MESSAGING_MAX_ATTEMPTS) unless a consumer sets its own.
      const retry = (config as Partial<AmqpEnv>).consumerRetry;
      for (const consumer of consumers) queues.push((await connected.consume({ ...retry, ...consumer, ...options.consumers })).queues);
      if (db) {
        const relay = startOutboxRelay({ db, bus: connected, logger, registry: metrics.registry, ...options.relay });
        // The relay publishes through the bus: it stops first.
        steps.transport.unshift({ name: 'outbox relay', run: () => relay.stop() });
      }
      proceed();
    }

    const app = definition.createApp(appContext);
    handler = app;
    let registration: Registration | undefined;
    if (definition.registration && url && isRegistrationEnv(config)) {
      const registered = await registerService({
        env: config, url, logger, service: name, version: definition.version, instanceId, ...definition.registration,
        tasks: tasks.map((task) => task.declaration),
      });
      registration = registered;
      steps.serving.unshift({ name: 'registry: deregister', run: async () => {
        await registered.deregister();
        await registered.stop();
      } });
      proceed();
      lifecycle.onDrain('registry: draining', registered.markDraining);
    }
    // Services' own steps stop in reverse order of creation: what started last depends on what started first.
    for (const step of ordered()) lifecycle.onStop(step.name, step.run);
    started = true;
    logger.info({ port: serverPort(server), version: definition.version }, `${name} service started`);
    return {
      context: appContext, app, server, url: `http://127.0.0.1:${serverPort(server)}`, registration, queues,
      shutdown: (reason = 'shutdown requested') => lifecycle.shutdown(reason),
    };
  };

  const starting = start().catch(stopEarly);
  lifecycle.onDrain('start: abandon', async () => {
    if (started) return;
    abandon.abort(new StartAbandonedError(`${name}: shut down while starting`));
    await starting.catch(() => undefined);
  });
  return starting;
}

/**
 * A service's `main.ts`: builds the definition (reading the environment) and starts it with signal
 * handling; a start that fails prints one line (the logger may not exist yet) and exits 1.
 */
export function runService<C extends ProcessEnv, D>(define: () => ServiceDefinition<C, D>): void {
  let name = 'service';
  (async () => {
    const definition = define();
    name = definition.name;
    await startService(definition, { signals: true });
  })().catch((error: unknown) => {
    // The lifecycle that abandoned the start exits once it has stopped what was opened.
    if (error instanceof StartAbandonedError) return;
    // A configuration error already names the service and every problem in one line.
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`${name}: failed to start`, error);
    process.exit(1);
  });
}

function hasString<K extends string>(config: object, key: K): config is Record<K, string> {
  return typeof (config as Record<string, unknown>)[key] === 'string';
}

function isRegistrationEnv(config: object): config is RegistrationEnv {
  return hasString(config, 'redisUrl') && hasString(config, 'registryKey');
}
