import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { acceptsConnections } from '../src/routing/address-probe.js';

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('when an address accepts, then the probe says so', async () => {
  expect(await acceptsConnections(url, 1_000)).toBe(true);
});

test('when the hub is held up past the probe\'s timeout while the address accepts the connection, then the probe still says it accepts', async () => {
  const probe = acceptsConnections(url, 50);
  // The kernel completes the connect meanwhile; this thread, the hub's, only sees it after the 50 ms are past.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  expect(await probe).toBe(true);
});
