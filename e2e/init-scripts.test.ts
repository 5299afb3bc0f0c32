import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startPrivatePostgres, type PrivatePostgres } from '@hubspoke/kit/testing';
import { REPO_ROOT } from './support/compose.js';

const run = promisify(execFile);
const SERVICE_ROLES = ['hub', 'auth', 'users', 'notification', 'analytics'];
// The scripts revoke privileges on `postgres` and `template1`, which are shared by every test on the machine's
// server: they run against a cluster of their own, as the Postgres image runs them on a fresh volume.
let cluster: PrivatePostgres;

beforeAll(async () => {
  cluster = await startPrivatePostgres();
  const env = {
    ...process.env, POSTGRES_USER: 'postgres', PGHOST: '127.0.0.1', PGPORT: String(cluster.port),
    MONITORING_DB_PASSWORD: 'monitoring-password', ...Object.fromEntries(['HUB', 'AUTH', 'USER', 'NOTIFICATION', 'ANALYTICS'].map((s) => [`${s}_DB_PASSWORD`, `${s}-password`])),
  };
  const scripts = readdirSync(join(REPO_ROOT, 'init-scripts')).filter((f) => f.endsWith('.sh')).sort();
  for (const script of scripts) await run('bash', [join(REPO_ROOT, 'init-scripts', script)], { env });
}, 60_000);

afterAll(async () => {
  await cluster?.remove();
});

/** Connects as `role` to `database` and runs `sql`; the rejection carries Postgres's message. */
async function asRole(role: string, database: string, sql = 'SELECT 1 AS ok'): Promise<unknown[]> {
  const client = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: role, database, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('init-scripts on a fresh cluster', () => {
  test('when a service role connects to postgres or template1, then it is refused; to its own database it gets in', async () => {
    for (const role of SERVICE_ROLES) {
      for (const database of ['postgres', 'template1']) {
        await expect(asRole(role, database), `${role} → ${database}`).rejects.toThrow(`permission denied for database "${database}"`);
      }
      await expect(asRole(role, role)).resolves.toEqual([{ ok: 1 }]);
    }
  });

  test('when the monitoring role connects to postgres, then it reads the statistics of every database, and no other database lets it in', async () => {
    const rows = await asRole('monitoring', 'postgres', 'SELECT datname FROM pg_stat_database WHERE datname IS NOT NULL');
    expect(rows.map((r) => (r as { datname: string }).datname)).toEqual(expect.arrayContaining(['postgres', ...SERVICE_ROLES]));
    await expect(asRole('monitoring', 'template1')).rejects.toThrow(/permission denied/);
    await expect(asRole('monitoring', 'auth')).rejects.toThrow(/permission denied/);
  });

  test('when the scripts have run, then PUBLIC may neither connect to nor create in the maintenance databases', async () => {
    const acl = await asRole('postgres', 'postgres', `SELECT datname, datacl::text AS acl FROM pg_database WHERE datname IN ('postgres', 'template1') ORDER BY datname`);
    // An ACL entry for PUBLIC starts with `=`; none is left.
    for (const row of acl as { datname: string; acl: string }[]) expect(row.acl, row.datname).not.toMatch(/[{,]=/);
    for (const database of ['postgres', 'template1']) {
      const [schema] = await asRole('postgres', database, `SELECT has_schema_privilege('public', 'public', 'CREATE') AS create`);
      expect(schema, database).toEqual({ create: false });
    }
  });
});
