import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { testPostgresUrl } from '@hubspoke/kit/testing';
import { REPO_ROOT } from './support/compose.js';

const run = promisify(execFile);
// Roles are shared by the whole server: a unique name, dropped afterwards.
const name = `hs_one_shot_${randomBytes(4).toString('hex')}`;
const script = (env: Record<string, string>) =>
  run('bash', [join(REPO_ROOT, 'scripts/create-service-database.sh'), name, name, 'ONE_SHOT_DB_PASSWORD'], {
    cwd: REPO_ROOT, env: { ...process.env, HUBSPOKE_PSQL: `psql ${testPostgresUrl()}`, ...env },
  });

async function query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: testPostgresUrl() });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  await query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await query(`DROP ROLE IF EXISTS "${name}"`);
});

describe('scripts/create-service-database.sh (an existing Postgres volume)', () => {
  test('when run twice, then the database exists once, owned by its role and closed to PUBLIC, as init-scripts make them', async () => {
    await script({ ONE_SHOT_DB_PASSWORD: 'one-shot-password' });
    const again = await script({ ONE_SHOT_DB_PASSWORD: 'one-shot-password' });
    expect(again.stdout).toContain(`database ${name} owned by role ${name} is in place`);
    const [database] = await query<{ owner: string; acl: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner, datacl::text AS acl FROM pg_database WHERE datname = $1', [name]);
    expect(database).toEqual({ owner: name, acl: `{${name}=CTc/${name}}` });
    expect(await query('SELECT 1 FROM pg_roles WHERE rolname = $1 AND rolcanlogin', [name])).toHaveLength(1);
  });

  test('when the password variable is set nowhere, then it exits 1 naming it', async () => {
    await expect(script({ ONE_SHOT_DB_PASSWORD: '' })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ONE_SHOT_DB_PASSWORD is not set') });
  });
});
