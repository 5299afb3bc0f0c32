import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, createPool, isUniqueViolation, migrate, withTransaction, type Pool } from '../src/index.js';
import { createTestDatabase, eventually, type TestDatabase } from '../src/testing/index.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const MIGRATIONS = new URL('./fixtures/migrations-ok', import.meta.url).pathname;
let database: TestDatabase;
const pools: Pool[] = [];
const pool = () => {
  const created = createPool({ connectionString: database.url, applicationName: 'kit-db-test', max: 3, statementTimeoutMs: 2000 }, logger);
  pools.push(created);
  return created;
};

beforeAll(async () => {
  database = await createTestDatabase('kit_db');
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
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
});
