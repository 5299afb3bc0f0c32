import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { testPostgresUrl } from './env.js';

export interface TestDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

/**
 * Creates a fresh database for one test file from the admin URL (the shared server's unless given, e.g. a private
 * server's); `drop()` removes it (and its connections).
 */
export async function createTestDatabase(label = 'test', adminUrl = testPostgresUrl()): Promise<TestDatabase> {
  const name = `hs_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
  await withPgClient(adminUrl, (admin) => admin.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => withPgClient(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** Runs `work` on one client connected to `url`, closed afterwards. */
export async function withPgClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
