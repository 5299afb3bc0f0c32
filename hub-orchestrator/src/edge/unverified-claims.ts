import { MAX_ACCESS_TOKEN_LENGTH } from '@hubspoke/kit';
import type { Request } from 'express';

export interface UnverifiedClaims {
  sub?: string;
  jti?: string;
}

// Claims beyond this length are not ours (the kit's verifier refuses a longer jti).
const MAX_CLAIM_LENGTH = 128;
const BEARER = /^Bearer +(\S+)$/i;

/**
 * The `sub` and `jti` a bearer token claims, before anyone checked its signature: only to name the keys
 * the hub reads (per-user count, revocation entries) in the one Redis round trip it makes before edge
 * auth. Nothing is counted or trusted on these alone: the user is counted and a revocation applied
 * only once the same token has verified.
 */
export function unverifiedClaims(req: Request): UnverifiedClaims {
  const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
  if (!token || token.length > MAX_ACCESS_TOKEN_LENGTH) return {};
  // A client sends the same token on every request: its payload is decoded once (base64 and JSON.parse per
  // request were ≈ 2 % of a busy hub's profile). Keyed by the whole token, so a changed byte is a new entry.
  const known = recent.get(token);
  if (known) return known;
  const claims = Object.freeze(decode(token));
  recent.set(token, claims);
  if (recent.size > MAX_REMEMBERED) recent.delete(recent.keys().next().value!);
  return claims;
}

// Oldest first: a full map drops the token it decoded longest ago (forged tokens cannot crowd out more than this).
const MAX_REMEMBERED = 10_000;
const recent = new Map<string, UnverifiedClaims>();

function decode(token: string): UnverifiedClaims {
  let payload: Record<string, unknown> | null;
  try {
    payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown> | null;
  } catch {
    return {};
  }
  if (typeof payload !== 'object' || payload === null) return {};
  const claim = (value: unknown) => (typeof value === 'string' && value !== '' && value.length <= MAX_CLAIM_LENGTH ? value : undefined);
  const sub = claim(payload.sub);
  const jti = claim(payload.jti);
  return { ...(sub ? { sub } : {}), ...(jti ? { jti } : {}) };
}
