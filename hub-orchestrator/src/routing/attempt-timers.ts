import type { ClientRequest } from 'node:http';

/** Error codes of the hub's own per-attempt limits, for proxy-errors.ts to classify. */
export const CONNECT_TIMEOUT = 'HUB_CONNECT_TIMEOUT';
export const ATTEMPT_TIMEOUT = 'HUB_ATTEMPT_TIMEOUT';

export interface AttemptLimits {
  /** A new connection must be established within this. */
  connectMs: number;
  /** The response must start within this; unset when the attempt may use the whole deadline. */
  attemptMs?: number;
}

/**
 * Armed when the attempt's request gets its socket, never when it is created: time before that is the
 * hub's, not the instance's (the agent never queues anyway: its sockets match the outstanding-request
 * limit). Expiry destroys the request with a coded error, so it takes the proxy's one error path.
 */
export function armAttemptTimers(proxyReq: ClientRequest, { connectMs, attemptMs }: AttemptLimits): void {
  const timers: NodeJS.Timeout[] = [];
  const failAfter = (ms: number, code: string) =>
    setTimeout(() => proxyReq.destroy(Object.assign(new Error(`${code} after ${ms} ms`), { code })), ms);
  const socket = proxyReq.socket;
  if (socket?.connecting) {
    const connectTimer = failAfter(connectMs, CONNECT_TIMEOUT);
    timers.push(connectTimer);
    socket.once('connect', () => clearTimeout(connectTimer));
  }
  if (attemptMs !== undefined) timers.push(failAfter(attemptMs, ATTEMPT_TIMEOUT));
  const clear = () => {
    for (const timer of timers) clearTimeout(timer);
  };
  proxyReq.once('response', clear);
  proxyReq.once('close', clear);
}
