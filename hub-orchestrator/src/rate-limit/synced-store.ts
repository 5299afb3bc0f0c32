import { oneAtATime } from '@hubspoke/kit';
import type { Redis } from 'ioredis';
import { script } from './redis-store.js';
import { wouldExceed, type EdgeLookup, type HitResult, type ScopeCheck, type WindowCounts } from './sliding-window.js';

/**
 * Limits answered from this process's memory, synced with Redis in batches (issue 20), so a request on a busy
 * key never waits for Redis. Each counter is what Redis held at its last sync plus what this replica counted
 * since; `syncMs` after a count, the counters counted meanwhile go to Redis in one script call, which adds
 * the counts (the same window keys as redis-store.ts, so both stores count together) and answers every
 * replica's totals. A counter is fresh for 2 × `syncMs` after Redis last told its total; `hit` answers only
 * when all the request's counters are fresh, and otherwise the limiter checks the request exactly in Redis
 * and hands the totals it got to `observe`, which makes them fresh. So a key's first request, or its first
 * after a quiet spell, costs a round trip; the rest of a busy key's requests cost none. Such a check in Redis
 * counts this replica's unsynced counts against the limit (`pending`), so one replica stays exact whichever
 * way each request is checked.
 *
 * The bound on what it lets through beyond a limit: a replica never goes past the limit on what it knows, and
 * what it does not know is what the other replicas counted on the key since Redis last told it the total:
 * at most their requests of the last 2 × syncMs and a round trip. With R replicas a key lets through at most
 * its limit plus that, and never more than R × the limit; with one replica it is exact.
 *
 * Time is Redis's (the offset of its clock is learnt from every sync), so window boundaries agree with the
 * other replicas and the exact store. A failed sync keeps the counts for the next one and marks the store
 * unhealthy until one succeeds; the limiter then checks requests in Redis, and while those fail too it counts
 * them here (`hitFromMemory`) with its fallback quotas, carrying on from each client's count.
 *
 * KEYS: counter bases. ARGV: per base, its window, how many counts follow, then (window index, count) pairs.
 * Reply: Redis's time (ms), then per base the previous and current window's totals.
 */
const SYNC = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {now}
local a = 1
for i = 1, #KEYS do
  local window = tonumber(ARGV[a])
  local counts = tonumber(ARGV[a + 1])
  a = a + 2
  local index = math.floor(now / window)
  for _ = 1, counts do
    local at = tonumber(ARGV[a])
    if at >= index - 1 then
      local key = KEYS[i] .. ':' .. string.format('%d', at)
      redis.call('INCRBY', key, tonumber(ARGV[a + 1]))
      redis.call('PEXPIRE', key, 2 * window)
    end
    a = a + 2
  end
  out[#out + 1] = tonumber(redis.call('GET', KEYS[i] .. ':' .. string.format('%d', index - 1)) or '0')
  out[#out + 1] = tonumber(redis.call('GET', KEYS[i] .. ':' .. string.format('%d', index)) or '0')
end
return out
`;

/** Keys per script call, bounding how long one holds Redis; more are synced in further calls. */
const MAX_SYNC = 500;
const RETRY_MS = 1000;
// Far above the distinct clients one replica sees in a window; past it, counters not waiting for a sync go.
const MAX_KEYS = 50_000;

interface Counter {
  windowMs: number;
  /** The window `current` belongs to. */
  index: number;
  previous: number;
  /** Redis's total at the last sync, plus this replica's counts since. */
  current: number;
  /** This replica's counts not sent yet, as [window index, count]. */
  unsent: [number, number][];
  /** Those in the sync under way. */
  sent: [number, number][];
  /** When (this process's clock) Redis last told the totals; 0: never. */
  syncedAt: number;
}

export interface SyncedStore {
  count(check: ScopeCheck): void;
  /** Undefined when a counter of the request is not fresh: check it in Redis, then `observe`. */
  hit(lookup: EdgeLookup): HitResult | undefined;
  /**
   * From what it holds, fresh or not: the per-process fallback while Redis fails. Its counts are kept and sent
   * once a sync succeeds again, and a Redis call that merely timed out (a hub held up) does not start a
   * client's count from zero.
   */
  hitFromMemory(lookup: EdgeLookup): HitResult;
  /** What an exact check in Redis answered for the request (its `counted` scopes counted when allowed). */
  observe: (lookup: EdgeLookup, result: HitResult) => void;
  /**
   * This replica's counts on the scope's current window that Redis does not hold yet: a check made in Redis
   * instead of here must count them, or a client whose requests take both ways would pass its limit by them.
   */
  pending: (check: ScopeCheck) => number;
  /** False from a failed sync until one succeeds. */
  healthy: () => boolean;
  /** Counters held now. */
  size: () => number;
  /** Sends what is counted and not sent yet and refreshes every counter; resolves once that sync settled. */
  flush: () => Promise<void>;
  close: () => void;
}

export interface SyncedStoreOptions {
  syncMs: number;
  /** Hears how many counters each sync call carries. */
  onSync?: (keys: number) => void;
  /** Counters kept; past it, those not waiting for a sync go (a counter forgotten is read from Redis again). */
  maxKeys?: number;
}

export function createSyncedStore(redis: Redis, { syncMs, onSync, maxKeys = MAX_KEYS }: SyncedStoreOptions): SyncedStore {
  const run = script(redis, SYNC);
  const counters = new Map<string, Counter>();
  const dirty = new Set<string>();
  let offsetMs = 0;
  let healthy = true;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const roll = (counter: Counter, index: number) => {
    if (index <= counter.index) return;
    counter.previous = index === counter.index + 1 ? counter.current : 0;
    counter.current = 0;
    counter.index = index;
  };
  const add = (counter: Counter, index: number, count: number) => {
    roll(counter, index);
    if (index === counter.index) counter.current += count;
    else if (index === counter.index - 1) counter.previous += count;
  };
  const schedule = (delayMs: number) => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void sync();
    }, delayMs);
    timer.unref();
  };
  const freshMs = 2 * syncMs;
  let evictAt = maxKeys;
  const counterOf = (check: ScopeCheck, index: number): Counter => {
    let counter = counters.get(check.key);
    if (!counter) {
      if (counters.size >= evictAt) {
        evict();
        // Counters waiting for a sync cannot go: if too many were, the next attempt waits for a tenth more keys.
        evictAt = Math.max(maxKeys, counters.size + Math.ceil(maxKeys / 10));
      }
      counter = { windowMs: check.windowMs, index, previous: 0, current: 0, unsent: [], sent: [], syncedAt: 0 };
      counters.set(check.key, counter);
    }
    roll(counter, index);
    return counter;
  };
  /** Redis's totals, as of now: plus what this replica counted that they do not hold yet. */
  const settle = (counter: Counter, index: number, previous: number, current: number) => {
    counter.index = index;
    counter.previous = previous;
    counter.current = current;
    for (const [at, n] of counter.sent) add(counter, at, n);
    for (const [at, n] of counter.unsent) add(counter, at, n);
    counter.syncedAt = Date.now();
  };
  const count = (key: string, counter: Counter) => {
    counter.current += 1;
    const last = counter.unsent[counter.unsent.length - 1];
    if (last && last[0] === counter.index) last[1] += 1;
    else counter.unsent.push([counter.index, 1]);
    dirty.add(key);
    schedule(syncMs);
  };

  async function syncOnce(batch: string[]): Promise<void> {
    const keys: string[] = [];
    const sent: Counter[] = [];
    const args: (string | number)[] = [];
    for (const key of batch) {
      const counter = counters.get(key);
      if (!counter) continue;
      counter.sent = counter.unsent;
      counter.unsent = [];
      args.push(counter.windowMs, counter.sent.length);
      for (const [index, n] of counter.sent) args.push(index, n);
      keys.push(key);
      sent.push(counter);
    }
    let reply: unknown;
    try {
      reply = await run(keys, args);
      if (!Array.isArray(reply) || reply.length !== 1 + 2 * keys.length) throw new Error('unexpected rate-limit sync reply');
    } catch (error) {
      // Kept for the next sync: counting twice (a reply lost after Redis added them) errs on the strict side.
      for (const counter of sent) {
        counter.unsent = [...counter.sent, ...counter.unsent];
        counter.sent = [];
      }
      throw error;
    }
    const redisNow = Number(reply[0]);
    offsetMs = redisNow - Date.now();
    sent.forEach((counter, i) => {
      counter.sent = [];
      settle(counter, Math.floor(redisNow / counter.windowMs), Number(reply[1 + 2 * i]), Number(reply[2 + 2 * i]));
    });
  }

  /** Past maxKeys: counters of ended windows go first, then any not waiting for a sync, oldest first. */
  function evict(): void {
    const now = Date.now() + offsetMs;
    const waiting = (key: string, counter: Counter) => dirty.has(key) || counter.sent.length > 0;
    for (const [key, counter] of counters) {
      if (!waiting(key, counter) && Math.floor(now / counter.windowMs) > counter.index + 1) counters.delete(key);
    }
    for (const [key, counter] of counters) {
      if (counters.size <= maxKeys * 0.9) return;
      if (!waiting(key, counter)) counters.delete(key);
    }
    // Syncs failing for long (Redis down, counting in fallback): past twice the bound, the oldest go with their counts.
    for (const key of counters.keys()) {
      if (counters.size <= 2 * maxKeys) return;
      counters.delete(key);
      dirty.delete(key);
    }
  }

  async function syncDirty(): Promise<void> {
    const keys = [...dirty];
    dirty.clear();
    try {
      for (let start = 0; start < keys.length; start += MAX_SYNC) {
        const batch = keys.slice(start, start + MAX_SYNC);
        onSync?.(batch.length);
        await syncOnce(batch);
      }
      healthy = true;
    } catch {
      healthy = false;
      for (const key of keys) if (counters.has(key)) dirty.add(key);
    }
    if (dirty.size > 0) schedule(healthy ? syncMs : RETRY_MS);
  }

  // One sync at a time; asked for while one runs, one more runs after it with what was counted meanwhile.
  const sync = oneAtATime(syncDirty, () => closed);

  /** Checks every scope and counts the `counted` ones when all allow; undefined when `fresh` is asked and a counter is not. */
  function check({ counted, watched }: EdgeLookup, fresh: boolean): HitResult | undefined {
    const now = Date.now();
    const at = now + offsetMs;
    const counts: WindowCounts[] = [];
    const counting: Counter[] = [];
    let allowed = true;
    let stale = false;
    const checkScope = (scope: ScopeCheck) => {
      const index = Math.floor(at / scope.windowMs);
      const counter = counterOf(scope, index);
      if (now - counter.syncedAt > freshMs) stale = true;
      const scopeCounts = { previous: counter.previous, current: counter.current, elapsedMs: at - index * scope.windowMs };
      counts.push(scopeCounts);
      if (wouldExceed(scopeCounts, scope)) allowed = false;
      return counter;
    };
    for (const scope of counted) counting.push(checkScope(scope));
    for (const scope of watched) checkScope(scope);
    if (fresh && stale) return undefined;
    if (allowed) counted.forEach((scope, i) => count(scope.key, counting[i]!));
    return { allowed, counts, values: [] };
  }

  return {
    hit: (lookup) => check(lookup, true),
    hitFromMemory: (lookup) => check(lookup, false)!,
    observe({ counted, watched }, result) {
      const at = Date.now() + offsetMs;
      [...counted, ...watched].forEach((check, i) => {
        const counts = result.counts[i];
        if (!counts) return;
        const index = Math.floor(at / check.windowMs);
        const counter = counterOf(check, index);
        // Counted by Redis itself when allowed: nothing of it to send.
        settle(counter, index, counts.previous, counts.current + (result.allowed && i < counted.length ? 1 : 0));
      });
    },
    count(check) {
      const at = Date.now() + offsetMs;
      count(check.key, counterOf(check, Math.floor(at / check.windowMs)));
    },
    pending(check) {
      const counter = counters.get(check.key);
      if (!counter) return 0;
      const index = Math.floor((Date.now() + offsetMs) / check.windowMs);
      return counter.unsent.reduce((n, [at, count]) => (at === index ? n + count : n), 0);
    },
    healthy: () => healthy,
    size: () => counters.size,
    async flush() {
      clearTimeout(timer);
      timer = undefined;
      for (const key of counters.keys()) dirty.add(key);
      await sync();
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
