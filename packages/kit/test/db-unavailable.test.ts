import express from 'express';
import pg from 'pg';
import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { createLogger, createPool, DatabaseUnavailableError, errorHandler, isDatabaseUnavailable, withTransaction } from '../src/index.js';
import { freePort } from '../src/testing/index.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const serverError = (code: string) => Object.assign(new pg.DatabaseError('from the server', 0, 'error'), { code });

describe('which errors mean the database is unavailable', () => {
  test('when Postgres answers with a connection, shutdown, starting-up or too-many-connections state, then it is unavailable', () => {
    for (const code of ['08000', '08003', '08006', '08001', '08P01', '57P01', '57P02', '57P03', '53300']) expect(isDatabaseUnavailable(serverError(code)), code).toBe(true);
  });

  test('when Postgres refuses the statement itself, then it is not (a bug or a conflict, not an outage)', () => {
    for (const code of ['23505', '42601', '57014', '40001', '22P02']) expect(isDatabaseUnavailable(serverError(code)), code).toBe(false);
  });

  test('when pg reports its connection gone, or the error wraps one, then it is unavailable', () => {
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(isDatabaseUnavailable(new DatabaseUnavailableError('no database connection: connect ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('migration 0002_x.sql failed', { cause: serverError('57P03') }))).toBe(true);
  });

  test('when a socket error did not come from the kit\'s pool (a fetch, an SMTP server), then it is not the database\'s', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }))).toBe(false);
  });

  test('when the kit\'s pool cannot connect, then pool.query, pool.connect and withTransaction all fail as unavailable', async () => {
    const pool = createPool({ connectionString: `postgres://nobody@127.0.0.1:${await freePort()}/none`, applicationName: 'test', connectionTimeoutMs: 1_000 }, logger);
    try {
      const failures = await Promise.all([
        pool.query('SELECT 1').catch((error: unknown) => error),
        pool.connect().catch((error: unknown) => error),
        withTransaction(pool, async () => undefined).catch((error: unknown) => error),
      ]);
      expect(failures.map((error) => isDatabaseUnavailable(error))).toEqual([true, true, true]);
    } finally {
      await pool.end();
    }
  });
});

describe('the error handler', () => {
  test('when a route fails because the database is unavailable, then it answers 503 DB.UNAVAILABLE with Retry-After in the error shape', async () => {
    const app = express();
    app.get('/lost', () => {
      throw serverError('57P01');
    });
    app.get('/bug', () => {
      throw serverError('42601');
    });
    app.use(errorHandler(logger));
    const lost = await request(app).get('/lost');
    expect(lost.status).toBe(503);
    expect(lost.headers['retry-after']).toBe('1');
    expect(lost.body).toEqual({ error: { code: 'DB.UNAVAILABLE', message: 'The service cannot reach its database; try again shortly' } });
    expect((await request(app).get('/bug')).body).toMatchObject({ error: { code: 'INTERNAL' } });
  });
});
