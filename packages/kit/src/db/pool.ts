import pg from 'pg';
import type { Logger } from 'pino';
import { DatabaseUnavailableError, markConnectionFailure } from './unavailable.js';

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
  // The query in flight (if any) rejects with the same error, so the code holding the client sees it; marked
  // first, so whoever turns it into a response knows the database went away (unavailable.ts).
  pool.on('connect', (client) => client.on('error', (error) => {
    markConnectionFailure(error);
    logger.warn({ err: error }, 'postgres connection lost');
  }));
  // pool.query connects through this too: a refused or timed-out connect is marked however it was asked for.
  const connect = pool.connect.bind(pool);
  pool.connect = ((callback?: Parameters<pg.Pool['connect']>[0]) => {
    if (!callback) {
      return connect().catch((error: unknown) => {
        markConnectionFailure(error);
        throw error;
      });
    }
    return connect((error, client, done) => {
      if (error) markConnectionFailure(error);
      callback(error, client, done);
    });
  }) as pg.Pool['connect'];
  return pool;
}

/**
 * Postgres answered COMMIT with ROLLBACK: a statement failed inside the transaction and `work` caught
 * the error instead of letting it through, so nothing `work` wrote was kept.
 */
export class TransactionAbortedError extends Error {
  override readonly name = 'TransactionAbortedError';
}

/** `work` ran past the transaction's time limit: its connection was closed, which rolls it back. */
export class TransactionTimeoutError extends Error {
  override readonly name = 'TransactionTimeoutError';
}

export interface TransactionOptions {
  /**
   * Longest `work` may run. Past it the transaction fails and its connection is closed rather than
   * returned, so work still running cannot write through a connection someone else now holds.
   */
  timeoutMs?: number;
  /**
   * `false`: COMMIT returns without waiting for the WAL flush (`synchronous_commit = off` for this transaction,
   * sent with BEGIN in one round trip). A crash of Postgres may then lose the last commits; only for work
   * whose loss is recovered by other means.
   */
  synchronousCommit?: false;
}

/**
 * Runs `work` in one transaction: commits when it resolves, rolls back when it throws. A connection
 * lost meanwhile fails the transaction (never the process, whichever pool the client came from) and
 * the client is discarded rather than returned to the pool.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new DatabaseUnavailableError(`no database connection: ${(error as Error).message}`, { cause: error });
  }
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on('error', onError);
  try {
    await client.query(options.synchronousCommit === false ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN');
    const result = await withinTime(work(client), options.timeoutMs, () => {
      lost ??= new TransactionTimeoutError(`the transaction ran longer than ${options.timeoutMs} ms`);
      return lost;
    });
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

function withinTime<T>(work: Promise<T>, timeoutMs: number | undefined, timedOut: () => Error): Promise<T> {
  if (timeoutMs === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(timedOut()), timeoutMs);
  });
  // Work that outlives its deadline fails later on the closed connection; nobody awaits it any more.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Postgres unique_violation, for repositories that map it to a 409 once. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = error as { code?: string; constraint?: string };
  return pgError?.code === '23505' && (constraint === undefined || pgError.constraint === constraint);
}
