import type { Channel } from './channel.js';

export type Admission = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * The providers' rate limits, one token bucket per channel: `perSecond` tokens a second, a burst of one
 * second's worth. Per instance: with N replicas the provider sees up to N times the rate, so set it to the
 * provider's limit divided by the replica count. A refusal says when the next token is due, which is the
 * "throttled, retry after N ms" a caller (the send worker, a hub task) passes on.
 */
export function createRateLimiter(perSecond: Record<Channel, number>, now: () => number = Date.now) {
  const buckets = new Map<Channel, { tokens: number; at: number }>();
  return {
    take(channel: Channel): Admission {
      const rate = perSecond[channel];
      const t = now();
      const bucket = buckets.get(channel) ?? { tokens: rate, at: t };
      bucket.tokens = Math.min(rate, bucket.tokens + ((t - bucket.at) * rate) / 1000);
      bucket.at = t;
      buckets.set(channel, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 1000) / rate) };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
