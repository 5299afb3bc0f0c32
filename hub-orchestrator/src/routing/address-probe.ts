import { connect } from 'node:net';
import { timeoutAfterIo } from './io-timer.js';

/**
 * Whether the instance at `url` accepts a TCP connection within `timeoutMs`. A connect failure is what
 * takes an instance out of routing, so a completed handshake is the evidence that brings it back; it
 * costs the spoke nothing (no request), and a hung instance is still caught by the breaker.
 */
export function acceptsConnections(url: string, timeoutMs: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port) || 80 });
    const done = (accepted: boolean) => {
      timer.clear();
      socket.destroy();
      resolve(accepted);
    };
    // A connect the kernel completed while the hub was held up is read before the timeout is judged.
    const timer = timeoutAfterIo(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
