import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import amqp from 'amqplib';
import pg from 'pg';
import { SendAccountEmailV1 } from '@hubspoke/contracts';
import { tasksExchange } from '@hubspoke/kit';

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

/**
 * Binds a queue nobody reads to the auth spoke's account-email command, in place of the notification spoke this
 * world does not start. Without it each registration's verification email is unroutable and the auth outbox retries
 * it with backoff, rewriting the row while attacks run: a database change no attack made.
 */
export async function takeAccountEmails(amqpUrl: string, prefix: string): Promise<void> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    // The platform's services declared the shared exchanges when they started.
    const exchange = tasksExchange(prefix);
    await channel.checkExchange(exchange);
    const { queue } = await channel.assertQueue(`${prefix}.chaos.account-emails`, { durable: false });
    await channel.bindQueue(queue, exchange, SendAccountEmailV1.routingKey);
  } finally {
    await connection.close();
  }
}

/** The tables whose rows differ between two snapshots. */
export const changedTables = (before: Record<string, string>, after: Record<string, string>) =>
  [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((table) => before[table] !== after[table]);

/** One HTTP answer as the client got it: the body as text (UTF-8), header names in lower case. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes as they are (no client normalising paths or framing) and collects every answer that comes back
 * before the server closes or goes quiet for `quietMs`: a second answer is a request smuggled past the first.
 */
export function rawExchange(port: number, bytes: string, quietMs = 1_500): Promise<Answer[]> {
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
      resolve(parseAnswers(text));
    });
    socket.write(bytes);
  });
}

/**
 * The answers in a byte stream (latin1, so string offsets are byte offsets), each framed by its Content-Length
 * or chunked coding. Whatever cannot be framed but still holds a status line counts as one more answer.
 */
function parseAnswers(text: string): Answer[] {
  const answers: Answer[] = [];
  let rest = text;
  for (let head = /^HTTP\/1\.[01] (\d{3})/.exec(rest); head; head = /^HTTP\/1\.[01] (\d{3})/.exec(rest)) {
    const end = rest.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of rest.slice(0, end === -1 ? rest.length : end).split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const [body, next] = end === -1 ? ['', rest.length] : framedBody(rest, end + 4, headers);
    answers.push({ status: Number(head[1]), headers, body: Buffer.from(body, 'latin1').toString('utf8') });
    rest = rest.slice(next);
  }
  const stray = /HTTP\/1\.[01] (\d{3}) /.exec(rest);
  if (stray) answers.push({ status: Number(stray[1]), headers: {}, body: rest.slice(stray.index) });
  return answers;
}

/** The body starting at `start` and where the next answer would start. */
function framedBody(text: string, start: number, headers: Record<string, string>): [string, number] {
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    let body = '';
    let at = start;
    for (;;) {
      const lineEnd = text.indexOf('\r\n', at);
      const size = lineEnd === -1 ? 0 : Number.parseInt(text.slice(at, lineEnd), 16);
      if (!size) return [body, lineEnd === -1 ? text.length : Math.min(text.length, lineEnd + 4)];
      body += text.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  }
  const length = headers['content-length'] === undefined ? text.length - start : Number(headers['content-length']);
  return [text.slice(start, start + length), start + length];
}

/**
 * Requests from a loopback address of their own (any of 127.0.0.0/8 reaches a server on 127.0.0.1): nginx sees
 * that address as the client's and the hub trusts nginx's word for it, so a flood from one address spends only
 * that address's quotas. A forwarded-for header would not do: nginx appends the real peer and the hub reads that.
 */
export function clientAt(localAddress: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  return {
    send: (url: string, { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
      new Promise<Answer>((resolve, reject) => {
        const req = request(url, { method, headers, agent, localAddress }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({
            status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'),
            headers: Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, String(value)])),
          }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}
