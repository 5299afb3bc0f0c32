import type { Redis } from 'ioredis';

const MGET_BATCH = 500;

/** The values of `keys` in order (null where absent), MGET_BATCH keys per call so that no one call holds Redis long. */
export async function mgetBatched(redis: Redis, keys: string[]): Promise<(string | null)[]> {
  const values: (string | null)[] = [];
  for (let i = 0; i < keys.length; i += MGET_BATCH) values.push(...(await redis.mget(keys.slice(i, i + MGET_BATCH))));
  return values;
}
