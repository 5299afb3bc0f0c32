import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRegistryConnection } from './connection.js';
import { newInstanceId } from './instance-id.js';
import { registryKeys, type RegistryChange } from './keys.js';
import { parseOwnRecord } from './record-schema.js';
import { signRecord } from './signing.js';
import type { TaskDeclaration } from '../tasks/declaration.js';
import type { InstanceRecord, PublicRoute, RouteLimit } from './types.js';

// Index entries whose instance key has been gone this long are pruned; the margin absorbs clock skew.
const INDEX_GRACE_MS = 60_000;

export interface RegisterInstanceOptions {
  /**
   * A URL for a connection this registration owns (fails fast while Redis is down), or a client to share,
   * left open on `stop()`: give it a command timeout, or a heartbeat can wait on its offline queue.
   */
  redis: Redis | string;
  keyPrefix?: string;
  /** This service's own registry key (`deriveRegistryKey(master, service)`): the hub verifies with the same derivation. */
  key: string;
  service: string;
  routePrefix: string;
  /** This instance's own address on the hub network: see `deriveInstanceUrl`. */
  url: string;
  version: string;
  publicRoutes?: PublicRoute[];
  routeLimits?: RouteLimit[];
  /** The task types this instance serves (`serveTasks`): the hub accepts jobs of these types. */
  tasks?: TaskDeclaration[];
  /** The id the service already logs under (startService makes one); a new one by default. */
  instanceId?: string;
  ttlMs?: number;
  heartbeatMs?: number;
  logger: Logger;
}

export interface Registration {
  instanceId: string;
  record: () => InstanceRecord;
  /** Publishes status 'draining' at once; later heartbeats keep it. */
  markDraining: () => Promise<void>;
  /** Stops the heartbeat, deletes the record and announces it. */
  deregister: () => Promise<void>;
  /** Stops the heartbeat (the record then expires after its TTL) and closes a connection it opened. */
  stop: () => Promise<void>;
}

/**
 * Registers this instance and keeps it registered: a heartbeat rewrites the signed record with a fresh
 * TTL every `heartbeatMs`. A failed heartbeat (Redis down) is logged and retried on the next tick, and
 * re-creates the record when Redis returns; it never throws. Resolves even when Redis is down at start.
 */
export async function registerInstance(options: RegisterInstanceOptions): Promise<Registration> {
  const { keyPrefix = '', key: serviceKey, ttlMs = 10_000, heartbeatMs = 3_000, logger } = options;
  if (!serviceKey) throw new Error('registry: a registry key is required to sign instance records');
  if (heartbeatMs >= ttlMs) throw new Error(`registry: heartbeatMs (${heartbeatMs}) must be shorter than ttlMs (${ttlMs})`);
  const keys = registryKeys(keyPrefix);
  let current = parseOwnRecord({
    service: options.service,
    instanceId: options.instanceId ?? newInstanceId(),
    url: options.url,
    routePrefix: options.routePrefix,
    version: options.version,
    publicRoutes: options.publicRoutes ?? [],
    routeLimits: options.routeLimits ?? [],
    taskTypes: (options.tasks ?? []).map((task) => task.type),
    tasks: options.tasks ?? [],
    status: 'ready',
    heartbeatAt: Date.now(),
    ttlMs,
  });
  const { service, instanceId } = current;
  const key = keys.instance(service, instanceId);
  const owned = typeof options.redis === 'string';
  const redis = typeof options.redis === 'string' ? createRegistryConnection(options.redis, logger, 'registry client') : options.redis;
  // A service's logger already names its instance: binding it twice would write the key twice.
  const log = logger.child(logger.bindings().instanceId === instanceId ? { registryService: service } : { registryService: service, instanceId });

  let phase: 'active' | 'stopped' | 'deregistered' = 'active';
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  // Writes run one at a time, so a heartbeat in flight can never re-create the key deregister just deleted.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = (work: () => Promise<void>): Promise<void> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };
  const announce = (change: RegistryChange) => JSON.stringify({ change, service, instanceId });

  async function write(change?: RegistryChange): Promise<void> {
    if (phase === 'deregistered') return;
    current = { ...current, heartbeatAt: Date.now() };
    const tx = redis
      .multi()
      .set(key, signRecord(current, serviceKey), 'PX', ttlMs, 'GET')
      .zadd(keys.index, current.heartbeatAt + ttlMs, key)
      .zremrangebyscore(keys.index, '-inf', current.heartbeatAt - INDEX_GRACE_MS);
    if (change) tx.publish(keys.changes, announce(change));
    const results = await tx.exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (failure) throw failure;
    // No previous value: first registration, or the key expired while Redis or this process was away.
    if (!change && results?.[0]?.[1] === null) await redis.publish(keys.changes, announce('registered'));
  }

  async function heartbeat(): Promise<void> {
    try {
      await serialized(() => (phase === 'active' ? write() : Promise.resolve()));
      if (failing) log.info('registry: heartbeat recovered');
      failing = false;
    } catch (error) {
      if (failing) log.debug({ err: error }, 'registry: heartbeat failed again');
      else log.warn({ err: error, retryInMs: heartbeatMs }, 'registry: heartbeat failed; retrying on the next tick');
      failing = true;
    }
  }

  const schedule = () => {
    timer = setTimeout(async () => {
      await heartbeat();
      if (phase === 'active') schedule();
    }, heartbeatMs);
    timer.unref();
  };
  const onReady = () => void heartbeat();
  const halt = () => {
    clearTimeout(timer);
    redis.off('ready', onReady);
  };

  if (owned) await redis.connect().catch((error: unknown) => log.warn({ err: error }, 'registry: redis unreachable at start; will register when it returns'));
  // Re-register as soon as Redis is back rather than on the next tick: the key may have expired meanwhile.
  redis.on('ready', onReady);
  await heartbeat();
  schedule();
  log.info({ url: current.url, routePrefix: current.routePrefix }, 'registry: instance registered');

  return {
    instanceId,
    record: () => structuredClone(current),
    markDraining: () => {
      current = { ...current, status: 'draining' };
      return serialized(() => write('draining'));
    },
    async deregister() {
      halt();
      phase = 'deregistered';
      await serialized(async () => {
        await redis.multi().del(key).zrem(keys.index, key).publish(keys.changes, announce('deregistered')).exec();
      });
      log.info('registry: instance deregistered');
    },
    async stop() {
      halt();
      if (phase === 'active') phase = 'stopped';
      await queue;
      if (owned && redis.status !== 'end') await redis.quit().catch(() => redis.disconnect());
    },
  };
}
