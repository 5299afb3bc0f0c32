import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';

const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;
// One lock id for every service: each service migrates its own database, so they never contend.
const MIGRATION_LOCK_ID = 72_100_415;

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies numbered SQL files (`0001_create_users.sql`, …) in order, each in its own transaction,
 * recording them in `schema_migrations`. A session advisory lock makes replicas starting together
 * take turns; an applied file whose content changed stops the start (migrations are forward-only).
 */
export async function migrate(pool: pg.Pool, directory: string, logger: Logger): Promise<MigrationResult> {
  const files = (await readdir(directory)).filter((f) => f.endsWith('.sql')).sort();
  const bad = files.filter((f) => !MIGRATION_FILE.test(f));
  if (bad.length > 0) throw new Error(`migration files must be named NNNN_snake_case.sql: ${bad.join(', ')}`);

  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations');
    const done = new Map(rows.map((r) => [r.name, r.checksum]));
    const applied: string[] = [];
    for (const file of files) {
      const sql = await readFile(join(directory, file), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = done.get(file);
      if (previous !== undefined) {
        if (previous !== checksum) throw new Error(`migration ${file} changed after it was applied; add a new migration instead`);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file, checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(file);
      logger.info({ migration: file }, 'migration applied');
    }
    return { applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    client.release();
  }
}
