import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, createPool, isUniqueViolation, migrate, preparedStatement, TransactionAbortedError, withTransaction, type Pool, type PoolClient } from '../src/index.js';
import { createTestDatabase, eventually, startFaultProxy, testPostgresUrl, type FaultProxy, type TestDatabase } from '../src/testing/index.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const MIGRATIONS = new URL('./fixtures/migrations-ok', import.meta.url).pathname;
let database: TestDatabase;
let proxy: FaultProxy;
const pools: Pool[] = [];
const pool = (url = database.url, applicationName = 'kit-db-test') => {
  const created = createPool({ connectionString: url, applicationName, max: 3, statementTimeoutMs: 2000 }, logger);
  pools.push(created);
  return created;
};
/** A pool whose connections pass through the fault proxy, so a test can reset them. */
const proxiedPool = () => {
  const url = new URL(database.url);
  url.host = `127.0.0.1:${proxy.port}`;
  return pool(url.toString(), 'kit-db-proxied');
};
const ended = (client: PoolClient) => new Promise((resolve) => client.once('end', resolve));

beforeAll(async () => {
  database = await createTestDatabase('kit_db');
  const target = new URL(testPostgresUrl());
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
});
afterEach(() => proxy.restore());
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await proxy.close();
  await database.drop();
});

describe('migrations', () => {
  test('when three replicas migrate at once, then each file is applied exactly once', async () => {
    const results = await Promise.all([pool(), pool(), pool()].map((p) => migrate(p, MIGRATIONS, logger)));
    expect(results.flatMap((r) => r.applied).sort()).toEqual(['0001_create_items.sql', '0002_add_item_note.sql']);
    const { rows } = await pool().query('SELECT name FROM schema_migrations ORDER BY name');
    expect(rows.map((r) => r.name)).toEqual(['0001_create_items.sql', '0002_add_item_note.sql']);
  });

  test('when an applied migration file was edited, then migrating refuses to start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    await cp(MIGRATIONS, dir, { recursive: true });
    await writeFile(join(dir, '0002_add_item_note.sql'), 'ALTER TABLE items ADD COLUMN note2 text;');
    await expect(migrate(pool(), dir, logger)).rejects.toThrow('migration 0002_add_item_note.sql changed after it was applied');
  });

  test('when a migration fails, then nothing of it is applied and the error names it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    await cp(MIGRATIONS, dir, { recursive: true });
    await writeFile(join(dir, '0003_broken.sql'), 'CREATE TABLE half (id int); SELECT * FROM no_such_table;');
    await expect(migrate(pool(), dir, logger)).rejects.toThrow('migration 0003_broken.sql failed');
    const { rows } = await pool().query("SELECT to_regclass('half') AS half");
    expect(rows[0].half).toBeNull();
  });
});

describe('prepared statements', () => {
  test('when a prepared statement runs on every connection of a pool, then Postgres holds it prepared on each and answers with the values given', async () => {
    const db = pool();
    const square = preparedStatement<{ n: number }>('kit-test-square', 'SELECT $1::int * $1::int AS n');
    const answers = await Promise.all([2, 3, 4, 5, 6, 7].map(async (n) => (await square(db, [n])).rows[0]!.n));
    expect(answers).toEqual([4, 9, 16, 25, 36, 49]);
    const client = await db.connect();
    try {
      await square(client, [8]);
      const { rows } = await client.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements WHERE name = 'kit-test-square'`);
      expect(rows).toEqual([{ statement: 'SELECT $1::int * $1::int AS n' }]);
    } finally {
      client.release();
    }
  });

  test('when a name is defined again with another text, then it is refused at once; the same text is the same statement', () => {
    preparedStatement('kit-test-twice', 'SELECT 1');
    expect(() => preparedStatement('kit-test-twice', 'SELECT 1')).not.toThrow();
    expect(() => preparedStatement('kit-test-twice', 'SELECT 2')).toThrow(/already defined/);
  });
});

describe('pool and transactions', () => {
  test('when work throws inside a transaction, then nothing is written', async () => {
    const db = pool();
    await expect(withTransaction(db, async (tx) => {
      await tx.query("INSERT INTO items (name) VALUES ('rolled-back')");
      throw new Error('stop');
    })).rejects.toThrow('stop');
    const { rowCount } = await db.query("SELECT 1 FROM items WHERE name = 'rolled-back'");
    expect(rowCount).toBe(0);
  });

  test('when work catches a SQL error and carries on, then the transaction fails instead of reporting a commit that rolled back', async () => {
    const db = pool();
    await db.query("INSERT INTO items (name) VALUES ('swallowed-one')");
    const committed = withTransaction(db, async (tx) => {
      await tx.query("INSERT INTO items (name) VALUES ('swallowed-two')");
      await tx.query("INSERT INTO items (name) VALUES ('swallowed-one')").catch((error: unknown) => {
        if (!isUniqueViolation(error)) throw error;
      });
      return 'done';
    });
    await expect(committed).rejects.toBeInstanceOf(TransactionAbortedError);
    expect((await db.query("SELECT 1 FROM items WHERE name = 'swallowed-two'")).rowCount).toBe(0);
  });

  test('when a unique constraint is violated, then it is recognised', async () => {
    const db = pool();
    await db.query("INSERT INTO items (name) VALUES ('unique-one')");
    const error = await db.query("INSERT INTO items (name) VALUES ('unique-one')").catch((e: unknown) => e);
    expect(isUniqueViolation(error, 'items_name_key')).toBe(true);
  });

  test('when the server terminates the pool\'s idle connections, then the process lives and the next query works', async () => {
    const db = pool();
    await Promise.all([db.query('SELECT 1'), db.query('SELECT 1')]);
    const admin = pool();
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'kit-db-test' AND pid <> pg_backend_pid()",
    );
    // The pool drops each terminated client when its error arrives; a query before that would pick a dead one.
    await eventually(() => db.totalCount === 0);
    await expect(db.query('SELECT 1 AS ok')).resolves.toMatchObject({ rows: [{ ok: 1 }] });
  });

  test('when a statement runs past the statement timeout, then it fails instead of hanging', async () => {
    await expect(pool().query('SELECT pg_sleep(5)')).rejects.toThrow(/statement timeout/);
  });

  test('when the connection resets while a transaction is idle, then the transaction fails, the process lives and the pool recovers', async () => {
    const db = proxiedPool();
    const failed = withTransaction(db, async (tx) => {
      await tx.query("INSERT INTO items (name) VALUES ('reset-idle')");
      const end = ended(tx);
      proxy.cut();
      await end;
      await tx.query('SELECT 1');
    });
    await expect(failed).rejects.toThrow();
    proxy.restore();
    await expect(withTransaction(db, (tx) => tx.query('SELECT 1 AS ok'))).resolves.toMatchObject({ rows: [{ ok: 1 }] });
    expect((await pool().query("SELECT 1 FROM items WHERE name = 'reset-idle'")).rowCount).toBe(0);
  });

  test('when the connection resets during a query in a transaction, then the transaction fails, the process lives and the pool recovers', async () => {
    const db = proxiedPool();
    const admin = pool();
    const failed = withTransaction(db, (tx) => tx.query('SELECT pg_sleep(1.5)'));
    await eventually(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'kit-db-proxied' AND query LIKE 'SELECT pg_sleep%'")).rowCount);
    proxy.cut();
    await expect(failed).rejects.toThrow();
    proxy.restore();
    await expect(withTransaction(db, (tx) => tx.query('SELECT 1 AS ok'))).resolves.toMatchObject({ rows: [{ ok: 1 }] });
  });

  test('when the server terminates a backend inside a transaction (a fast shutdown), then the transaction fails and the process lives', async () => {
    const db = pool(database.url, 'kit-db-terminated');
    const admin = pool();
    const failed = withTransaction(db, async (tx) => {
      await tx.query('SELECT 1');
      // Listening before the kill: the FATAL can reach this connection before the admin's answer arrives.
      const end = ended(tx);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kit-db-terminated'");
      await end;
      await tx.query('SELECT 1');
    });
    await expect(failed).rejects.toThrow();
    await expect(withTransaction(db, (tx) => tx.query('SELECT 1 AS ok'))).resolves.toMatchObject({ rows: [{ ok: 1 }] });
  });
});
