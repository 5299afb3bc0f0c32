import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** RFC 9110 §7.6.1 hop-by-hop headers (transfer-encoding is left to Node, which re-frames bodies itself). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'upgrade'];
const INTERNAL_PREFIX = 'x-internal-';
/** Spoke headers clients never see: cookies are the gateway's business, and these reveal the stack. */
const NEVER_TO_CLIENT = ['set-cookie', 'x-powered-by', 'server'];
const NOT_TO_CLIENT = new Set([...HOP_BY_HOP, ...NEVER_TO_CLIENT]);

export const DEADLINE_HEADER = 'x-request-deadline-ms';

function namedInConnection(headers: IncomingHttpHeaders): string[] {
  return String(headers.connection ?? '').split(',').map((token) => token.trim().toLowerCase()).filter(Boolean);
}

/**
 * Once per request, after the edge middlewares have read the client's own values: X-Forwarded-For as
 * the trusted chain (edge/client-ip.ts), proto and host kept from the gateway or filled in, and the
 * client's hop-by-hop and internal headers dropped. Done on the incoming headers, which the proxy
 * copies, so it holds for every attempt (the library skips its per-request hook on `Expect`).
 */
export function prepareForwarding(req: IncomingMessage, forwardedFor: string): void {
  const headers = req.headers;
  // Connection itself stays until the outgoing request: the proxy mirrors it to the client's response.
  for (const name of [...HOP_BY_HOP, ...namedInConnection(headers)]) if (name !== 'connection' && name !== 'transfer-encoding') delete headers[name];
  for (const name of Object.keys(headers)) if (name.startsWith(INTERNAL_PREFIX)) delete headers[name];
  headers['x-forwarded-for'] = forwardedFor;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-host'] ??= headers.host ?? '';
}

/** Per attempt: the time budget left, so the spoke can give up when the hub already has. */
export function setDeadline(req: IncomingMessage, remainingMs: number): void {
  req.headers[DEADLINE_HEADER] = String(Math.max(0, Math.floor(remainingMs)));
}

/** Before the proxy copies the spoke's headers to the client: keep only what is end-to-end and public. */
export function cleanUpstreamResponse(headers: IncomingHttpHeaders, res: ServerResponse, requestId: string): void {
  // One pass over what the spoke sent (per response, so no arrays built and no regex run per header).
  const named = headers.connection === undefined ? undefined : namedInConnection(headers);
  for (const name in headers) {
    if (name === 'transfer-encoding') continue;
    if (NOT_TO_CLIENT.has(name) || name.startsWith(INTERNAL_PREFIX) || named?.includes(name)) delete headers[name];
  }
  headers['x-request-id'] = requestId;
  // The hub's own connection decision (e.g. `close` while it drains) wins over the proxy's default.
  const own = res.getHeader('connection');
  if (own !== undefined) headers.connection = String(own);
}
