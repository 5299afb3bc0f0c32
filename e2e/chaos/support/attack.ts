import { connect } from 'node:net';
import pg from 'pg';

/** Row count and a content hash per table of each database: what an attack must leave as it found it. */
export async function snapshot(databases: Record<string, string>): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const [service, url] of Object.entries(databases)) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows: tables } = await client.query<{ name: string }>(
        "SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1");
      for (const { name } of tables) {
        // Identifiers come from the catalog, quoted by Postgres itself.
        const { rows } = await client.query<{ n: string; hash: string | null }>(`SELECT count(*) AS n, md5(string_agg(t::text, ',' ORDER BY t::text)) AS hash FROM ${name} t`);
        result[`${service}.${name}`] = `${rows[0]!.n}:${rows[0]!.hash ?? '-'}`;
      }
    } finally {
      await client.end();
    }
  }
  return result;
}

/** The tables whose rows differ between two snapshots. */
export const changedTables = (before: Record<string, string>, after: Record<string, string>) =>
  [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((table) => before[table] !== after[table]);

/**
 * Sends bytes as they are (no client normalising paths or framing) and collects the status of every response that
 * comes back before the server closes or goes quiet for `quietMs`.
 */
export function rawExchange(port: number, bytes: string, quietMs = 1_500): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let timer = setTimeout(() => socket.destroy(), quietMs);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), quietMs);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve([...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1])));
    });
    socket.write(bytes);
  });
}
