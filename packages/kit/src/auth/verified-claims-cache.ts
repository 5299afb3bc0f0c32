import type { TokenVerifier, VerifiedToken } from './token-verifier.js';

export interface VerifiedClaimsCacheOptions {
  /** Tokens kept at most; past it the least recently used is dropped. */
  maxEntries?: number;
  /** An entry is dropped this long before the token's `exp`, so the verifier itself has the last word on expiry. */
  expiryMarginMs?: number;
  /**
   * No entry outlives this, whatever its `exp`: a token signed with a key withdrawn from the JWKS stops
   * passing at most this long after the key source lets the key go.
   */
  maxAgeMs?: number;
  now?: () => number;
}

interface Entry {
  verified: VerifiedToken;
  until: number;
}

/**
 * Verifies a token once per process: the signature check (ES256 through WebCrypto, the largest single cost
 * of a request at the hub and again at the spoke) is skipped while the same token, byte for byte, is seen
 * again before just before its `exp`. Only tokens that verified are kept; a rejection is never cached, so a
 * token not yet valid (`nbf`, `iat`) is checked afresh each time. Revocation is not the verifier's job and
 * is not cached here: the hub checks it per request, after this.
 */
export function cacheVerifiedClaims(verifier: TokenVerifier, {
  maxEntries = 10_000, expiryMarginMs = 1_000, maxAgeMs = 60_000, now = Date.now,
}: VerifiedClaimsCacheOptions = {}): TokenVerifier {
  // A Map iterates in insertion order: re-inserting on a hit makes its first key the least recently used.
  const entries = new Map<string, Entry>();
  return {
    async verify(token) {
      const at = now();
      const cached = entries.get(token);
      if (cached) {
        entries.delete(token);
        if (cached.until > at) {
          entries.set(token, cached);
          return cached.verified;
        }
      }
      const verified = await verifier.verify(token);
      const { exp } = verified.claims;
      const until = Math.min(typeof exp === 'number' ? exp * 1000 - expiryMarginMs : at, at + maxAgeMs);
      if (until > at) {
        entries.set(token, { verified: freeze(verified), until });
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      }
      return verified;
    },
  };
}

// One result is handed to every request carrying the token: none may change it for the others.
function freeze(verified: VerifiedToken): VerifiedToken {
  Object.freeze(verified.claims);
  return Object.freeze(verified);
}
