import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Keep-alive timeouts, in one place. A server must keep idle connections open longer than any pooled
 * client keeps them, or a reused socket races with the server's close and the request fails at random:
 *   hub → spoke agent idle timeout      UPSTREAM_IDLE_TIMEOUT_MS  (30 s)
 *   nginx → hub upstream keepalive_timeout                        (30 s, hub-config/templates/hubspoke.conf.template)
 *   every service's server keepAliveTimeout SERVER_KEEP_ALIVE_MS  (65 s)  > both
 */
export const UPSTREAM_IDLE_TIMEOUT_MS = 30_000;
export const SERVER_KEEP_ALIVE_MS = 65_000;

export interface ListenOptions {
  port: number;
  host?: string;
}

/** Starts an HTTP server with the keep-alive and header timeouts above; resolves once it listens. */
export async function listen(app: RequestListener, { port, host = '0.0.0.0' }: ListenOptions): Promise<Server> {
  const server = createServer({ keepAliveTimeout: SERVER_KEEP_ALIVE_MS, headersTimeout: SERVER_KEEP_ALIVE_MS + 1000, requestTimeout: 120_000 }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export function serverPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** Stops accepting, closes idle keep-alive sockets, and resolves when in-flight requests have finished. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}
