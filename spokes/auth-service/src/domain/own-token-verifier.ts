import { createTokenVerifier, importJwks, type TokenVerifier, type VerificationKey } from '@hubspoke/kit';
import type { TokenSettings } from '../config.js';
import type { KeyRing } from './signing-keys.js';

/**
 * Verifies the access tokens this spoke signed, for its own routes that need a caller, with the public
 * keys of its key ring (no JWKS fetch from itself). Each key is parsed once, when its kid is first seen.
 */
export function createOwnTokenVerifier(keys: KeyRing, { issuer, audience }: Pick<TokenSettings, 'issuer' | 'audience'>): TokenVerifier {
  const parsed = new Map<string, VerificationKey>();
  return createTokenVerifier({
    issuer, audience,
    keys: {
      async getKey(kid) {
        if (!parsed.has(kid)) {
          const key = importJwks(keys.jwks()).get(kid);
          if (key) parsed.set(kid, key);
        }
        return parsed.get(kid);
      },
    },
  });
}
