import { createPublicKey, type JsonWebKey as NodeJsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/** A public key parsed once; jose caches its CryptoKey form per KeyObject, so requests never re-parse. */
export interface VerificationKey {
  alg: string;
  key: KeyObject;
}

/** Where verifiers find public keys by `kid`: the auth spoke's JWKS, or a set held in memory. */
export interface KeySource {
  /** Resolves undefined for a kid it does not know. */
  getKey(kid: string): Promise<VerificationKey | undefined>;
}

export interface JsonWebKeySet {
  keys: JWK[];
}

const ALG_BY_CURVE: Record<string, string> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', Ed25519: 'EdDSA' };

/**
 * Parses a public JWK set into keys by kid. Keys that are not for signatures (no kid, `use` other than
 * `sig`, an unknown algorithm) are skipped; private or secret material means the publisher is
 * misconfigured, so the whole set is refused rather than half-trusted.
 */
export function importJwks(value: unknown): Map<string, VerificationKey> {
  const keys = (value as Partial<JsonWebKeySet> | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('a JWK set needs a "keys" array');
  const parsed = new Map<string, VerificationKey>();
  for (const jwk of keys) {
    if (typeof jwk !== 'object' || jwk === null) throw new Error('a JWK set entry is not an object');
    if ('d' in jwk || 'k' in jwk || jwk.kty === 'oct') throw new Error(`JWK ${String(jwk.kid)} holds private or secret material`);
    const alg = jwk.alg ?? (jwk.crv ? ALG_BY_CURVE[jwk.crv] : undefined);
    if (typeof jwk.kid !== 'string' || !jwk.kid || (jwk.use !== undefined && jwk.use !== 'sig') || !alg) continue;
    if (parsed.has(jwk.kid)) throw new Error(`JWK set has kid ${jwk.kid} twice`);
    parsed.set(jwk.kid, { alg, key: createPublicKey({ key: jwk as NodeJsonWebKey, format: 'jwk' }) });
  }
  return parsed;
}

/** Keys given in memory: for tests, and for deployments that pin the auth spoke's public keys. */
export function createStaticKeySource(jwks: JsonWebKeySet): KeySource {
  const keys = importJwks(jwks);
  return { getKey: async (kid) => keys.get(kid) };
}
