import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signs an outgoing body so its receiver can tell it came from us and was not replayed later:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, the scheme most webhook receivers know. The
 * timestamp is inside the MAC, so an old request cannot be resent with a fresh one.
 */
export function signBody(secret: string, body: string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

/** The receiver's side: true only for a signature of this exact body within `toleranceSeconds` (300) of now. */
export function verifyBodySignature(secret: string, body: string, header: string, { toleranceSeconds = 300, nowMs = Date.now() } = {}): boolean {
  const parts = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowMs / 1000 - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(mac(secret, t, body), 'hex'));
}

function mac(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}
