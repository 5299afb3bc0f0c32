import pg from 'pg';
import { AppError } from '../errors.js';

/** No connection could be had (the pool stayed busy past its wait, or Postgres is unreachable): nothing ran. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
}

/**
 * Errors the kit's pool saw on a connection: a failed connect, or a socket error on a client. A bare
 * `ECONNREFUSED` says nothing about where it came from (an SMTP server, a fetch), so socket errors count
 * as the database's only when the pool marked them here.
 */
const connectionFailures = new WeakSet<object>();

export function markConnectionFailure(error: unknown): void {
  if (error !== null && typeof error === 'object') connectionFailures.add(error);
}

/**
 * Server states that mean "not now" rather than "wrong": connection exceptions (08xxx), admin or crash
 * shutdown and "the database system is starting up" (57P01–57P03), too many connections (53300).
 */
const UNAVAILABLE_STATE = /^(08[0-9A-Z]{3}|57P0[1-3]|53300)$/;

/** pg's own messages for a client whose connection is gone, or a server that never answered. */
const LOST_CONNECTION_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Query read timeout',
]);

/**
 * Whether an error means the database could not be reached or was lost mid-statement (restart, crash
 * recovery, network): the work did not happen, or did not finish, and trying again shortly is right.
 * Walks `cause` links, so a wrapped failure (a migration, a transaction) is recognised too.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 8; depth++) {
    if (current instanceof DatabaseUnavailableError || connectionFailures.has(current)) return true;
    if (current instanceof pg.DatabaseError && UNAVAILABLE_STATE.test(current.code ?? '')) return true;
    if (current instanceof Error && LOST_CONNECTION_MESSAGES.has(current.message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Seconds a client is told to wait: a restart takes about that, and the pool reconnects at once. */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/** What a request answers when its database is unavailable: 503 with Retry-After, the cause in the log only. */
export const databaseUnavailable = (cause?: unknown) => new AppError(
  'DB.UNAVAILABLE', 'The service cannot reach its database; try again shortly', 503, undefined,
  { cause, headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) } },
);
