import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CounterStore, HitResult, ScopeCheck, WindowCounts } from './sliding-window.js';

/**
 * All of a request's scopes in one round trip, checked and counted atomically, so replicas racing on one
 * key never both take the last unit. Time comes from Redis (TIME), so replicas with skewed clocks still
 * agree on window boundaries. KEYS are counter bases; the window index is appended here, which is fine
 * on a single Redis (not Cluster-safe, and the hub does not use Cluster).
 * The allow test must match `wouldExceed` in sliding-window.ts.
 */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = { 1 }
local current_keys = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
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
  for i = 1, #KEYS do
    redis.call('INCR', current_keys[i])
    redis.call('PEXPIRE', current_keys[i], 2 * tonumber(ARGV[2 * i]))
  end
end
return out
`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

export function createRedisStore(redis: Redis): CounterStore {
  return {
    async hit(checks: ScopeCheck[]): Promise<HitResult> {
      const args = [...checks.map((c) => c.key), ...checks.flatMap((c) => [c.limit, c.windowMs])];
      let reply: unknown;
      try {
        reply = await redis.evalsha(SHA, checks.length, ...args);
      } catch (error) {
        // A restarted (or new) Redis has an empty script cache: load it with this one call.
        if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
        reply = await redis.eval(SCRIPT, checks.length, ...args);
      }
      return parseReply(reply, checks.length);
    },
  };
}

function parseReply(reply: unknown, scopes: number): HitResult {
  if (!Array.isArray(reply) || reply.length !== 1 + 3 * scopes) throw new Error('unexpected rate-limit script reply');
  const numbers = reply.map(Number);
  const counts: WindowCounts[] = [];
  for (let i = 0; i < scopes; i++) {
    const [previous = 0, current = 0, elapsedMs = 0] = numbers.slice(1 + 3 * i, 4 + 3 * i);
    counts.push({ previous, current, elapsedMs });
  }
  return { allowed: numbers[0] === 1, counts };
}
