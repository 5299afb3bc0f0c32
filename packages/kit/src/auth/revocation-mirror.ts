import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { createRegistryConnection } from '../registry/connection.js';
import { mgetBatched } from '../registry/mget-batched.js';
import { oneAtATime } from '../registry/one-at-a-time.js';
import { revocationKeys, TRACKING_NOTICES_CHANNEL, type RevocationEntries } from './revocation.js';

const RETRY_MS = 1000;

export interface RevocationMirrorOptions {
  redisUrl: string;
  keyPrefix?: string;
  logger: Logger;
  /** Past this many entries the mirror stops vouching (callers read Redis per request) until the list shrinks. */
  maxEntries?: number;
  /** A full reload on top of Redis's notices, bounding what a lost notice could leave stale. */
  reloadMs?: number;
}

export interface RevocationMirror {
  /** Connects and loads once; resolves (not rejects) when Redis is down, and keeps trying in the background. */
  start: () => Promise<void>;
  close: () => Promise<void>;
  /**
   * The token's entries from memory; undefined when the mirror cannot vouch for them right now (not loaded,
   * a connection lost, or one of the two keys changed and is being read again): the caller reads Redis then.
   */
  entries: (tokenId: string, userId: string) => RevocationEntries | undefined;
  /** Whether entries are answered from memory. */
  synced: () => boolean;
}

/**
 * The revocation list (revocation.ts) kept in memory and current by Redis itself: server-assisted client-side
 * caching (CLIENT TRACKING in broadcast mode on the list's prefix) makes Redis send a notice naming every key
 * of the list that is written, deleted or expires, on a second connection subscribed to its invalidation
 * channel. A notice marks the key unknown before anything else can run, then one MGET per event-loop turn reads
 * the changed keys again; while a key is unknown, `entries` says so and the caller reads it from Redis. Redis
 * writes the notice to the mirror's connection while it executes the write, before it answers the writer, so
 * a hub sees a logout before the auth spoke can even report it.
 *
 * Out of sync whenever either connection drops (tracking and its notices die with them): on both connections'
 * `ready` it turns tracking on again, reloads the list from its index and vouches again only then.
 */
export function createRevocationMirror({ redisUrl, keyPrefix = '', logger, maxEntries = 200_000, reloadMs = 60_000 }: RevocationMirrorOptions): RevocationMirror {
  const keys = revocationKeys(keyPrefix);
  const commands: Redis = createRegistryConnection(redisUrl, logger, 'revocation mirror');
  const notices: Redis = createRegistryConnection(redisUrl, logger, 'revocation notices');
  let values = new Map<string, string>();
  /** Keys named by a notice and not read since: the sequence number of their latest notice. */
  const changed = new Map<string, number>();
  let noticeSeq = 0;
  let synced = false;
  /** Bumped on every connection loss and reload, so a reload or read begun before it settles nothing. */
  let epoch = 0;
  let closed = false;
  let rereadQueued = false;
  let retry: NodeJS.Timeout | undefined;
  let reloadTimer: NodeJS.Timeout | undefined;

  const unsync = (why: string) => {
    if (synced) logger.warn({ why }, 'revocations: mirror out of sync; reading Redis per request until it reloads');
    synced = false;
    epoch += 1;
  };
  // Reloads run one at a time; asked for while one runs, one more runs after it.
  const requestReload = oneAtATime(() => reload(), () => closed);

  const readAgain = (epochAtSend: number) => {
    rereadQueued = false;
    if (closed || changed.size === 0) return;
    const batch = [...changed];
    mgetBatched(commands, batch.map(([key]) => key)).then((read) => {
      if (epochAtSend !== epoch) return;
      batch.forEach(([key, seq], i) => {
        // A notice newer than this read means the value may already be old: the read it queued settles it.
        if (changed.get(key) !== seq) return;
        changed.delete(key);
        const value = read[i];
        if (value === null || value === undefined) values.delete(key);
        else values.set(key, value);
      });
      if (values.size > maxEntries) unsync(`more than ${maxEntries} entries`);
      if (changed.size > 0) queueReread();
    }, (error: unknown) => {
      logger.debug({ err: error }, 'revocations: reading changed entries failed; retrying');
      setTimeout(queueReread, RETRY_MS).unref();
    });
  };
  const queueReread = () => {
    if (rereadQueued) return;
    rereadQueued = true;
    const at = epoch;
    setImmediate(() => readAgain(at));
  };

  notices.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => {
    if (channel.toString() !== TRACKING_NOTICES_CHANNEL) return;
    // No key named: the whole keyspace was flushed.
    if (message === null) {
      unsync('keyspace flushed');
      return void requestReload();
    }
    for (const raw of Array.isArray(message) ? message : [message]) {
      const key = raw.toString();
      if (key === keys.index) continue;
      noticeSeq += 1;
      changed.set(key, noticeSeq);
      values.delete(key);
    }
    queueReread();
  });

  async function load(): Promise<Map<string, string>> {
    const members = await commands.zrangebyscore(keys.index, Date.now(), '+inf');
    const loaded = new Map<string, string>();
    (await mgetBatched(commands, members)).forEach((value, i) => {
      if (value !== null) loaded.set(members[i]!, value);
    });
    return loaded;
  }

  /** The notices connection's id while it is subscribed (tracking redirects there); gone with the connection. */
  let noticesId: number | undefined;
  async function listen(): Promise<number> {
    if (noticesId !== undefined) return noticesId;
    const id = Number(await notices.client('ID'));
    await notices.subscribe(TRACKING_NOTICES_CHANNEL);
    noticesId = id;
    return id;
  }

  /** Tracking on (again), then the whole list: what the mirror needs before it vouches, after start or an outage. */
  async function reload(): Promise<void> {
    if (closed || commands.status !== 'ready' || notices.status !== 'ready') return;
    clearTimeout(retry);
    const wasSynced = synced;
    epoch += 1;
    const at = epoch;
    try {
      if (!wasSynced) {
        const id = await listen();
        await commands.client('TRACKING', 'OFF');
        await commands.client('TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', 'PREFIX', keys.prefix);
      }
      // Tracking is on: every change from here is noticed. Keys noticed during the load may have been read
      // before their change, so they stay unknown until their own read; those noticed before it are read fresh.
      const seqAtLoad = noticeSeq;
      const loaded = await load();
      if (at !== epoch || closed) return;
      for (const [key, seq] of changed) {
        if (seq > seqAtLoad) loaded.delete(key);
        else changed.delete(key);
      }
      values = loaded;
      if (changed.size > 0) queueReread();
      if (values.size > maxEntries) return unsync(`more than ${maxEntries} entries`);
      if (!wasSynced) logger.info({ entries: values.size }, 'revocations: mirror loaded');
      synced = true;
    } catch (error) {
      if (closed || at !== epoch) return;
      unsync('load failed');
      logger.warn({ err: error }, 'revocations: mirror could not load; reading Redis per request, retrying');
      retry = setTimeout(() => void requestReload(), RETRY_MS);
      retry.unref();
    }
  }

  for (const connection of [commands, notices]) {
    connection.on('ready', () => void requestReload());
    connection.on('close', () => {
      if (connection === notices) noticesId = undefined;
      unsync('connection closed');
    });
  }

  return {
    async start() {
      await Promise.allSettled([commands.connect(), notices.connect()]);
      reloadTimer = setInterval(() => void requestReload(), reloadMs);
      reloadTimer.unref();
      await requestReload();
    },
    async close() {
      closed = true;
      synced = false;
      clearTimeout(retry);
      clearInterval(reloadTimer);
      commands.disconnect();
      notices.disconnect();
    },
    entries(tokenId, userId) {
      if (!synced) return undefined;
      const token = keys.token(tokenId);
      const user = keys.user(userId);
      if (changed.size > 0 && (changed.has(token) || changed.has(user))) return undefined;
      return { token: values.get(token) ?? null, userNotBefore: values.get(user) ?? null };
    },
    synced: () => synced,
  };
}
