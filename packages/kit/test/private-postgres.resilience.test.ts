import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testPostgresUrl } from '../src/testing/env.js';
import { startPrivatePostgres, type PrivatePostgres } from '../src/testing/private-postgres.js';

async function query(url: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

describe('private Postgres', () => {
  let server: PrivatePostgres;
  beforeAll(async () => {
    server = await startPrivatePostgres();
    await query(server.url, 'CREATE TABLE notes (body text)');
  });
  afterAll(() => server?.remove());

  test('when it is killed, then connections are refused, the shared server still answers, and a restart keeps committed rows', async () => {
    await query(server.url, 'INSERT INTO notes VALUES ($1)', ['before the crash']);
    const session = new pg.Client({ connectionString: server.url });
    session.on('error', () => undefined); // the crash ends this session: expected
    await session.connect();
    const ended = new Promise((resolve) => session.once('end', resolve));

    await server.kill();

    await ended;
    await expect(query(server.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await expect(query(testPostgresUrl(), 'SELECT 1')).resolves.toBeDefined();
    await server.restart();
    const { rows } = await query(server.url, 'SELECT body FROM notes');
    expect(rows).toContainEqual({ body: 'before the crash' });
  });

  test('when it is stopped immediately, then connections are refused until a restart, which recovers committed rows', async () => {
    await query(server.url, 'INSERT INTO notes VALUES ($1)', ['before the stop']);

    await server.stop('immediate');

    await expect(query(server.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await server.restart();
    const { rows } = await query(server.url, 'SELECT body FROM notes');
    expect(rows).toContainEqual({ body: 'before the stop' });
  });
});
