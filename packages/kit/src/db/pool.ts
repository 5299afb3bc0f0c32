import pg from 'pg';
import type { Logger } from 'pino';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** A pool or a client inside a transaction: repositories take either. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface PoolOptions {
  connectionString: string;
  /** Shows in pg_stat_activity. */
  applicationName: string;
  max?: number;
  /** How long a query may wait for a connection before failing (pg's default is forever). */
  connectionTimeoutMs?: number;
  /** Server-side cap on any one statement. */
  statementTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/**
 * A pg pool that survives database restarts: a client's socket error is logged, not thrown, whether the
 * client is idle (pg's pool emits it) or checked out (pg-pool removes its own listener then, and pg
 * emits 'error' even mid-query: unhandled, it would kill the process). Waiting for a connection is bounded.
 */
export function createPool(options: PoolOptions, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    application_name: options.applicationName,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    query_timeout: (options.statementTimeoutMs ?? 10_000) + 1000,
  });
  pool.on('error', (error) => logger.warn({ err: error }, 'postgres idle client error'));
  // The query in flight (if any) rejects with the same error, so the code holding the client sees it.
  pool.on('connect', (client) => client.on('error', (error) => logger.warn({ err: error }, 'postgres connection lost')));
  return pool;
}

/**
 * Postgres answered COMMIT with ROLLBACK: a statement failed inside the transaction and `work` caught
 * the error instead of letting it through, so nothing `work` wrote was kept.
 */
export class TransactionAbortedError extends Error {
  override readonly name = 'TransactionAbortedError';
}

/**
 * Runs `work` in one transaction: commits when it resolves, rolls back when it throws. A connection
 * lost meanwhile fails the transaction (never the process, whichever pool the client came from) and
 * the client is discarded rather than returned to the pool.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    // After an error Postgres turns COMMIT into ROLLBACK without raising anything: only the tag tells.
    const { command } = await client.query('COMMIT');
    if (command !== 'COMMIT') throw new TransactionAbortedError('the transaction failed on an error that was caught inside it; COMMIT rolled it back');
    return result;
  } catch (error) {
    if (!lost) await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

/** Postgres unique_violation, for repositories that map it to a 409 once. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = error as { code?: string; constraint?: string };
  return pgError?.code === '23505' && (constraint === undefined || pgError.constraint === constraint);
}
