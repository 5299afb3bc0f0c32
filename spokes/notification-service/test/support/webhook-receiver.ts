import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCall {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server standing in for an SMS or push provider: answers each call with the next status of `statuses` (the last repeats). */
export async function startWebhookReceiver(statuses: number[]) {
  const calls: ReceivedCall[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      calls.push({ at: performance.now(), headers: req.headers, body });
      const status = statuses[Math.min(calls.length - 1, statuses.length - 1)]!;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'accepted' : 'refused');
      for (const waiter of waiters.filter((w) => calls.length >= w.count)) waiter.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`,
    calls,
    waitForCalls: (count: number) => (calls.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
