import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { migrate } from '../db/migrate.js';
import type { Pool } from '../db/pool.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';

/** Between attempts while Postgres is unavailable: doubling from `minMs`, never above `maxMs`. */
export const DATABASE_RETRY_MS = { min: 250, max: 2_000 };

/**
 * Applies the migrations of each directory in order, waiting for Postgres as long as it takes: an attempt that
 * finds it unreachable, starting up or shutting down is tried again with backoff. What waiting cannot fix (a
 * broken or changed migration file) throws at once. Logs when it starts waiting and when Postgres answers, not
 * per attempt. Stops waiting when `signal` aborts (a shutdown during the start).
 */
export async function prepareDatabase(db: Pool, directories: string[], logger: Logger, signal: AbortSignal, retryMs = DATABASE_RETRY_MS): Promise<void> {
  let delayMs = retryMs.min;
  let waitingSince: number | undefined;
  for (;;) {
    signal.throwIfAborted();
    try {
      for (const directory of directories) await migrate(db, directory, logger);
      if (waitingSince !== undefined) logger.info({ waitedMs: Date.now() - waitingSince }, 'postgres available: starting');
      return;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      if (waitingSince === undefined) {
        waitingSince = Date.now();
        logger.warn({ err: error, retryMaxMs: retryMs.max }, 'postgres unavailable: live but not ready, trying again until it answers');
      }
    }
    await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    delayMs = Math.min(retryMs.max, delayMs * 2);
  }
}
