import { createServer } from 'node:net';

// Ports below the kernel's ephemeral range (32768–60999 by default): an ephemeral port that a probe
// released can be handed straight to an outgoing connection (to Postgres, Redis, the broker), and the
// service started on it then fails with EADDRINUSE. Each vitest worker takes its own slice, so parallel
// test files never pick the same port either.
const FIRST = 20_000;
const SLICE = 1_500;
const SLICES = 8;
const worker = Number(process.env.VITEST_POOL_ID ?? process.pid) % SLICES;
let next = Math.floor(Math.random() * SLICE);

/** A port on loopback that nothing listens on now, from this worker's slice below the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < SLICE; tries++) {
    const port = FIRST + worker * SLICE + (next++ % SLICE);
    if (await listenable(port)) return port;
  }
  throw new Error(`no free port in ${FIRST + worker * SLICE}–${FIRST + (worker + 1) * SLICE - 1}`);
}

async function listenable(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (ok) await new Promise((resolve) => server.close(resolve));
  return ok;
}
