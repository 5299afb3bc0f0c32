import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';
import { controlServer, launchServer, runAs, serverDir, unprivileged, untilReady, type ServerProcess } from './server-process.js';

const BIN = process.env.TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  /** The `postgres` database as superuser `postgres` (trust auth): a DATABASE_URL for a spawned service. */
  url: string;
  port: number;
  /** Shuts down: 'fast' rolls back sessions and checkpoints; 'immediate' skips the checkpoint (crash recovery on restart). */
  stop: (mode?: 'fast' | 'immediate') => Promise<void>;
  /** SIGKILLs the server and its backends, like a crash. */
  kill: () => Promise<void>;
  /** Starts the server again on the same port and data (stopping it fast first if it runs). */
  restart: () => Promise<void>;
  /** Stops the server and deletes its data: for afterAll. */
  remove: () => Promise<void>;
}

/**
 * A Postgres cluster only this test uses, for outage tests that must never stop the shared one: the machine's
 * binaries in a temp dir on a free port, run as the `postgres` user when the tests run as root.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const user = unprivileged('postgres');
  const dir = serverDir('postgres', user);
  const data = join(dir, 'data');
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let server: ServerProcess | undefined;

  const start = async () => {
    // fsync off: a killed server loses nothing the OS already has, and only a machine crash would need the flushes.
    server = launchServer(join(BIN, 'postgres'), [
      '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', '', '-c', 'fsync=off', '-c', 'shared_buffers=16MB',
    ], { dir, user });
    await untilReady(server, 'private Postgres', () => selectOne(url), 30_000);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await server?.signal(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
  };

  const controls = await controlServer({
    prepare: () => runAs(user, join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C']),
    start, stop, current: () => server, dir,
  });
  return { url, port, ...controls };
}

async function selectOne(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => undefined); // a server shutting down mid-probe: the probe's own rejection reports it
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}
