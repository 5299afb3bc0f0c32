import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CounterStore, EdgeLookup, HitResult, ScopeCheck, WindowCounts } from './sliding-window.js';

/**
 * All of a request's scopes in one round trip, checked and counted atomically, so replicas racing on one
 * key never both take the last unit; the same call reads the request's revocation entries. Time comes
 * from Redis (TIME), so replicas with skewed clocks still agree on window boundaries. KEYS are the counted
 * counter bases, then the watched ones (checked, not counted), then plain keys to read; ARGV[1] and
 * ARGV[2] say how many of the first two kinds, then a limit and window per scope. The window index is
 * appended here, which is fine on a single Redis (not Cluster-safe, and the hub does not use Cluster).
 * The allow test must match `wouldExceed` in sliding-window.ts.
 */
const HIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local counted = tonumber(ARGV[1])
local scopes = counted + tonumber(ARGV[2])
local out = { 1 }
local current_keys = {}
for i = 1, scopes do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  local index = math.floor(now / window)
  local elapsed = now - index * window
  local current_key = KEYS[i] .. ':' .. string.format('%d', index)
  local previous = tonumber(redis.call('GET', KEYS[i] .. ':' .. string.format('%d', index - 1)) or '0')
  local current = tonumber(redis.call('GET', current_key) or '0')
  if previous * (window - elapsed) / window + current + 1 > limit then out[1] = 0 end
  current_keys[i] = current_key
  out[#out + 1] = previous
  out[#out + 1] = current
  out[#out + 1] = elapsed
end
if out[1] == 1 then
  for i = 1, counted do
    redis.call('INCR', current_keys[i])
    redis.call('PEXPIRE', current_keys[i], 2 * tonumber(ARGV[2 + 2 * i]))
  end
end
for i = scopes + 1, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[i])
end
return out
`;
/** Counts one request in a watched scope's current window. */
const COUNT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local key = KEYS[1] .. ':' .. string.format('%d', math.floor(now / window))
redis.call('INCR', key)
redis.call('PEXPIRE', key, 2 * window)
return 1
`;

export function createRedisStore(redis: Redis): CounterStore {
  const hit = script(redis, HIT);
  const count = script(redis, COUNT);
  return {
    async hit({ counted, watched, reads }: EdgeLookup): Promise<HitResult> {
      const scopes = [...counted, ...watched];
      const keys = [...scopes.map((c) => c.key), ...reads];
      const reply = await hit(keys, [counted.length, watched.length, ...scopes.flatMap((c) => [c.limit, c.windowMs])]);
      return parseReply(reply, scopes.length, reads.length);
    },
    async count(check: ScopeCheck): Promise<void> {
      await count([check.key], [check.windowMs]);
    },
  };
}

function script(redis: Redis, source: string) {
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

function parseReply(reply: unknown, scopes: number, reads: number): HitResult {
  if (!Array.isArray(reply) || reply.length !== 1 + 3 * scopes + reads) throw new Error('unexpected rate-limit script reply');
  const numbers = reply.slice(0, 1 + 3 * scopes).map(Number);
  const counts: WindowCounts[] = [];
  for (let i = 0; i < scopes; i++) {
    const [previous = 0, current = 0, elapsedMs = 0] = numbers.slice(1 + 3 * i, 4 + 3 * i);
    counts.push({ previous, current, elapsedMs });
  }
  const values = reply.slice(1 + 3 * scopes).map((value: unknown) => (value === null ? null : String(value)));
  return { allowed: numbers[0] === 1, counts, values };
}
