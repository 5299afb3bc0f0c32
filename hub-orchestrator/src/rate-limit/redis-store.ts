import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CounterStore, EdgeLookup, HitResult, ScopeCheck, WindowCounts } from './sliding-window.js';

/**
 * Every request's Redis work in one script call per event-loop turn (issue 20): the hits and counts queued
 * while the loop read sockets are sent together when it reaches its check phase (setImmediate), so a hub
 * under load writes to Redis once per batch, not once per request, and answers nothing later than it would
 * have. The script handles the entries in arrival order in one atomic run, so limits stay exact across
 * requests and replicas: a hit checks all its scopes and counts the `counted` ones only when every scope
 * allows it, then reads the plain keys (revocation entries); a count adds one to a watched scope (the user,
 * once the token verified). Time comes from Redis (TIME), so replicas with skewed clocks agree on window
 * boundaries. The window index is appended here, which is fine on a single Redis (not Cluster-safe, and the
 * hub does not use Cluster). The allow test must match `wouldExceed` in sliding-window.ts.
 *
 * KEYS: per entry, a hit's scope counter bases then its read keys; a count's counter base.
 * ARGV: the entry count, then per entry 'h', counted, watched, reads, a limit and window per scope; or 'c', window.
 * Reply: per hit, allowed (1/0), previous, current, elapsed per scope, then each read value.
 */
const BATCH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local k = 0
local a = 1
local function window_key(base, window, offset)
  return base .. ':' .. string.format('%d', math.floor(now / window) + offset)
end
for _ = 1, tonumber(ARGV[1]) do
  if ARGV[a + 1] == 'c' then
    local window = tonumber(ARGV[a + 2])
    local key = window_key(KEYS[k + 1], window, 0)
    redis.call('INCR', key)
    redis.call('PEXPIRE', key, 2 * window)
    k = k + 1
    a = a + 2
  else
    local counted = tonumber(ARGV[a + 2])
    local scopes = counted + tonumber(ARGV[a + 3])
    local reads = tonumber(ARGV[a + 4])
    a = a + 4
    local flag = #out + 1
    out[flag] = 1
    local current_keys = {}
    local windows = {}
    for i = 1, scopes do
      local limit = tonumber(ARGV[a + 1])
      local window = tonumber(ARGV[a + 2])
      a = a + 2
      local elapsed = now - math.floor(now / window) * window
      local current_key = window_key(KEYS[k + i], window, 0)
      local previous = tonumber(redis.call('GET', window_key(KEYS[k + i], window, -1)) or '0')
      local current = tonumber(redis.call('GET', current_key) or '0')
      if previous * (window - elapsed) / window + current + 1 > limit then out[flag] = 0 end
      current_keys[i] = current_key
      windows[i] = window
      out[#out + 1] = previous
      out[#out + 1] = current
      out[#out + 1] = elapsed
    end
    if out[flag] == 1 then
      for i = 1, counted do
        redis.call('INCR', current_keys[i])
        redis.call('PEXPIRE', current_keys[i], 2 * windows[i])
      end
    end
    k = k + scopes
    for i = 1, reads do
      out[#out + 1] = redis.call('GET', KEYS[k + i])
    end
    k = k + reads
  end
end
return out
`;

// Bounds one script run (and so how long it holds Redis): a busier turn is split into several calls.
const MAX_BATCH = 200;

interface Hit {
  lookup: EdgeLookup;
  resolve: (result: HitResult) => void;
  reject: (error: unknown) => void;
}
type Entry = Hit | { count: ScopeCheck };

/** `onBatch` hears how many entries each script call carries. */
export function createRedisStore(redis: Redis, onBatch?: (entries: number) => void): CounterStore {
  const run = script(redis, BATCH);
  let queue: Entry[] = [];
  let counted: Promise<void> | undefined;
  let countedSettle: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  const flush = () => {
    const entries = queue;
    const countsDone = countedSettle;
    queue = [];
    counted = undefined;
    countedSettle = undefined;
    const calls: Promise<unknown>[] = [];
    for (let start = 0; start < entries.length; start += MAX_BATCH) {
      const batch = entries.slice(start, start + MAX_BATCH);
      onBatch?.(batch.length);
      calls.push(send(run, batch));
    }
    if (countsDone) {
      void Promise.all(calls).then((errors) => {
        const failed = errors.find((error) => error !== undefined);
        if (failed === undefined) countsDone.resolve();
        else countsDone.reject(failed);
      });
    }
  };
  const enqueue = (entry: Entry) => {
    if (queue.length === 0) setImmediate(flush);
    queue.push(entry);
  };

  return {
    hit(lookup: EdgeLookup): Promise<HitResult> {
      return new Promise((resolve, reject) => enqueue({ lookup, resolve, reject }));
    },
    // One promise per batch, not per count: it settles once the batch holding this count ran (or failed).
    count(check: ScopeCheck): Promise<void> {
      enqueue({ count: check });
      counted ??= new Promise<void>((resolve, reject) => (countedSettle = { resolve, reject }));
      return counted;
    },
  };
}

/** Runs one batch and settles its hits; resolves to the error that failed it, if any (it never rejects). */
async function send(run: (keys: string[], args: (string | number)[]) => Promise<unknown>, entries: Entry[]): Promise<unknown> {
  const keys: string[] = [];
  const args: (string | number)[] = [entries.length];
  for (const entry of entries) {
    if ('count' in entry) {
      keys.push(entry.count.key);
      args.push('c', entry.count.windowMs);
      continue;
    }
    const { counted, watched, reads } = entry.lookup;
    args.push('h', counted.length, watched.length, reads.length);
    for (const check of counted) { keys.push(check.key); args.push(check.limit, check.windowMs); }
    for (const check of watched) { keys.push(check.key); args.push(check.limit, check.windowMs); }
    for (const key of reads) keys.push(key);
  }
  try {
    settleHits(await run(keys, args), entries);
    return undefined;
  } catch (error) {
    for (const entry of entries) if ('reject' in entry) entry.reject(error);
    return error;
  }
}

/** A Lua script run by its SHA, loading it with one EVAL when Redis does not know it (first use, or a restarted Redis). */
export function script(redis: Redis, source: string) {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (keys: string[], args: (string | number)[]): Promise<unknown> => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      // A restarted (or new) Redis has an empty script cache: load it with this one call.
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}

/** Resolves each hit with its part of the reply; throws (and settles nothing) when the reply has the wrong shape. */
function settleHits(reply: unknown, entries: Entry[]): void {
  const hits = entries.filter((entry): entry is Hit => 'lookup' in entry);
  const expected = hits.reduce((n, { lookup }) => n + 1 + 3 * (lookup.counted.length + lookup.watched.length) + lookup.reads.length, 0);
  if (!Array.isArray(reply) || reply.length !== expected) throw new Error('unexpected rate-limit script reply');
  let at = 0;
  for (const { lookup, resolve } of hits) {
    const scopes = lookup.counted.length + lookup.watched.length;
    const allowed = Number(reply[at]) === 1;
    const counts: WindowCounts[] = [];
    for (let i = 0; i < scopes; i++) {
      const base = at + 1 + 3 * i;
      counts.push({ previous: Number(reply[base]), current: Number(reply[base + 1]), elapsedMs: Number(reply[base + 2]) });
    }
    at += 1 + 3 * scopes;
    const values: (string | null)[] = [];
    for (let i = 0; i < lookup.reads.length; i++) values.push(reply[at + i] === null ? null : String(reply[at + i]));
    at += lookup.reads.length;
    resolve({ allowed, counts, values });
  }
}
