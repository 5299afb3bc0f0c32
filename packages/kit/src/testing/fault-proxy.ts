import { createServer, type Server, type Socket } from 'node:net';

export interface FaultProxy {
  port: number;
  url: (scheme: string, credentials?: string) => string;
  /** Refuses new connections and cuts every open one, as a network partition would. */
  cut: () => void;
  /** Accepts and forwards connections again. */
  restore: () => void;
  close: () => Promise<void>;
}

/**
 * A TCP proxy in front of a shared server (Redis, RabbitMQ, Postgres) that a test can cut and restore:
 * outage tests use it instead of stopping servers other tests rely on.
 */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let open = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cutAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    url: (scheme, credentials) => `${scheme}://${credentials ? `${credentials}@` : ''}127.0.0.1:${port}`,
    cut: () => {
      open = false;
      cutAll();
    },
    restore: () => {
      open = true;
    },
    close: () =>
      new Promise((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
