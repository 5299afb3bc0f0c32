import type { Logger } from 'pino';
import { createRegistryConnection } from './connection.js';
import { mgetBatched } from './mget-batched.js';
import { oneAtATime } from './one-at-a-time.js';
import { registryKeys } from './keys.js';
import { verifyRecord, type RejectReason } from './signing.js';
import type { InstanceRecord } from './types.js';

export interface RegistryReaderOptions {
  redisUrl: string;
  keyPrefix?: string;
  /** The master every service's registry key is derived from (`deriveRegistryKey`); only the hub holds it. */
  masterKey: string;
  logger: Logger;
  /** Periodic full resync, on top of pub/sub: bounds how long an expired instance lingers. */
  resyncMs?: number;
  /** The clock records expire on and outages are dated by: tests pass their own to step past a TTL. */
  now?: () => number;
}

export interface RegistryState {
  /** The last resync succeeded and the connection is up. */
  connected: boolean;
  /** When Redis became unreachable; null while connected (and before the first attempt). */
  downSince: number | null;
  lastSyncAt: number | null;
  /** Records seen and ignored since start, by reason (counted on every read, so a bad record keeps counting). */
  rejected: Record<RejectReason, number>;
}

export type RegistryListener = (instances: InstanceRecord[]) => void;

export interface RegistryReader {
  /** Connects and reads once; resolves (not rejects) when Redis is down, and keeps trying in the background. */
  start: () => Promise<void>;
  close: () => Promise<void>;
  /** The last good snapshot, sorted by service then instance id: memory only, never a Redis call. Do not mutate. */
  instances: () => InstanceRecord[];
  /** Called when the set of instances or anything they announce changes (not on heartbeats alone). */
  onChange: (listener: RegistryListener) => () => void;
  state: () => RegistryState;
}

/**
 * The hub's view of the registry: a verified, in-memory snapshot refreshed on every change notification
 * and every `resyncMs`. With Redis down it keeps the last snapshot, so routing carries on, and resyncs
 * as soon as the connection is back.
 */
export function createRegistryReader({ redisUrl, keyPrefix = '', masterKey, logger, resyncMs = 2000, now = Date.now }: RegistryReaderOptions): RegistryReader {
  if (!masterKey) throw new Error('registry: a master key is required to verify instance records');
  const keys = registryKeys(keyPrefix);
  const commands = createRegistryConnection(redisUrl, logger, 'registry reader');
  const subscriber = createRegistryConnection(redisUrl, logger, 'registry subscriber');
  const listeners = new Set<RegistryListener>();
  const rejected: Record<RejectReason, number> = { unsigned: 0, 'bad-signature': 0, malformed: 0, expired: 0 };
  let snapshot = Object.freeze([] as InstanceRecord[]) as InstanceRecord[];
  let fingerprint = '[]';
  let connected = false;
  let downSince: number | null = null;
  let lastSyncAt: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function accept(key: string, stored: string, at: number): InstanceRecord | undefined {
    const result = verifyRecord(stored, masterKey, at);
    if (result.ok && key === keys.instance(result.record.service, result.record.instanceId)) return Object.freeze(result.record);
    // A validly signed record under another instance's key is a copy, not a registration.
    const reason = result.ok ? 'malformed' : result.reason;
    rejected[reason] += 1;
    logger.debug({ key, reason }, 'registry: ignored record');
    return undefined;
  }

  async function readAll(): Promise<InstanceRecord[]> {
    const members = (await commands.zrange(keys.index, 0, -1)).filter((key) => key.startsWith(keys.instancePrefix));
    const values = await mgetBatched(commands, members);
    const at = now();
    const records: InstanceRecord[] = [];
    values.forEach((stored, i) => {
      const record = stored === null ? undefined : accept(members[i]!, stored, at);
      if (record) records.push(record);
    });
    return records.sort((a, b) => a.service.localeCompare(b.service) || a.instanceId.localeCompare(b.instanceId));
  }

  function markDown(error: unknown): void {
    if (closed) return;
    if (connected || downSince === null) {
      logger.warn({ err: error, instances: snapshot.length }, 'registry: redis unavailable; keeping the last snapshot');
      downSince = now();
    }
    connected = false;
  }

  function replace(records: InstanceRecord[]): void {
    snapshot = Object.freeze(records) as InstanceRecord[];
    // Heartbeats change only heartbeatAt: refresh the snapshot but wake listeners only on real changes.
    const next = JSON.stringify(records.map(({ heartbeatAt: _heartbeatAt, ...rest }) => rest));
    if (next === fingerprint) return;
    fingerprint = next;
    logger.info({ instances: records.length }, 'registry: instances changed');
    for (const listener of listeners) {
      try {
        listener(snapshot);
      } catch (error) {
        logger.error({ err: error }, 'registry: change listener failed');
      }
    }
  }

  async function syncOnce(): Promise<void> {
    let records: InstanceRecord[];
    try {
      records = await readAll();
    } catch (error) {
      markDown(error);
      return;
    }
    if (closed) return;
    if (!connected && downSince !== null) logger.info({ downForMs: now() - downSince }, 'registry: redis back; resynced');
    connected = true;
    downSince = null;
    lastSyncAt = now();
    replace(records);
  }

  // Notifications can burst (many instances starting): at most one read runs, and one more follows it.
  const sync = oneAtATime(syncOnce, () => closed);

  commands.on('ready', () => void sync());
  commands.on('close', () => markDown(new Error('connection closed')));
  subscriber.on('ready', () => {
    subscriber
      .subscribe(keys.changes)
      // Changes announced while the subscriber was away were missed: read everything once subscribed.
      .then(() => sync())
      .catch((error: unknown) => logger.debug({ err: error }, 'registry: subscribe failed; the periodic resync covers it'));
  });
  // Any message means "something changed": its content is unsigned, so it only triggers a verified read.
  subscriber.on('message', (channel: string) => {
    if (channel === keys.changes) void sync();
  });

  return {
    async start() {
      await Promise.allSettled([commands.connect(), subscriber.connect()]);
      timer = setInterval(() => void sync(), resyncMs);
      timer.unref();
      await sync();
    },
    async close() {
      closed = true;
      clearInterval(timer);
      listeners.clear();
      commands.disconnect();
      subscriber.disconnect();
      await sync();
    },
    instances: () => snapshot,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    state: () => ({ connected, downSince, lastSyncAt, rejected: { ...rejected } }),
  };
}
