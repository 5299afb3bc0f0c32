import { Agent, request } from 'node:http';

export interface LoadResult {
  total: number;
  failed: number;
  /** Status (or error code) → count, for the failures. */
  failures: Record<string, number>;
  byInstance: Record<string, number>;
}

export interface Load {
  completed: () => number;
  done: Promise<LoadResult>;
}

/**
 * Steady GET load: `concurrency` keep-alive clients sending `total` requests in all, bounded by
 * `maxMs`. A request fails unless it answers 200.
 */
export function startLoad(url: string, { total, concurrency = 8, maxMs = 30_000 }: { total: number; concurrency?: number; maxMs?: number }): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result: LoadResult = { total: 0, failed: 0, failures: {}, byInstance: {} };
  const stopAt = Date.now() + maxMs;
  let sent = 0;
  const fail = (why: string) => {
    result.failed++;
    result.failures[why] = (result.failures[why] ?? 0) + 1;
  };
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(url, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          result.total++;
          if (res.statusCode !== 200) fail(String(res.statusCode));
          else {
            const id = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { instanceId?: string }).instanceId ?? '?';
            result.byInstance[id] = (result.byInstance[id] ?? 0) + 1;
          }
          resolve();
        });
        res.on('error', () => resolve());
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        result.total++;
        fail(error.code ?? 'error');
        resolve();
      });
      req.end();
    });
  const worker = async () => {
    while (sent < total && Date.now() < stopAt) {
      sent++;
      await one();
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
    agent.destroy();
    return result;
  });
  return { completed: () => result.total, done };
}
