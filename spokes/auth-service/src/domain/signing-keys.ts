import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey as NodeJwk, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ACCESS_TOKEN_ALGORITHMS, type JsonWebKeySet } from '@hubspoke/kit';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export interface KeyRing {
  /** The key that signs now. */
  current: () => SigningKey;
  /** What `/.well-known/jwks.json` serves: upcoming, current, and previous keys whose tokens may still be alive. */
  jwks: () => JsonWebKeySet;
  /** Rereads the stored keys (a no-op for keys from the environment). */
  reload: () => Promise<void>;
  stop: () => void;
}

type Algorithm = (typeof ACCESS_TOKEN_ALGORITHMS)[number];
const ALG_BY_CURVE: Record<string, Algorithm> = { 'P-256': 'ES256', Ed25519: 'EdDSA' };

/** Parses a private JWK into a signing key; the kid defaults to the RFC 7638 thumbprint. */
export async function toSigningKey(jwk: JWK): Promise<SigningKey> {
  if (typeof jwk.d !== 'string') throw new Error(`signing key ${String(jwk.kid)} has no private part`);
  const alg = jwk.alg ?? (jwk.crv ? ALG_BY_CURVE[jwk.crv] : undefined);
  if (!alg || !(ACCESS_TOKEN_ALGORITHMS as readonly string[]).includes(alg) || ALG_BY_CURVE[jwk.crv ?? ''] !== alg) {
    throw new Error(`signing key ${String(jwk.kid)} is not ${ACCESS_TOKEN_ALGORITHMS.join(' or ')} (P-256 or Ed25519)`);
  }
  const privateKey = createPrivateKey({ key: jwk as NodeJwk, format: 'jwk' });
  const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: 'jwk' });
  const bare: JWK = { kty, crv, x, ...(y ? { y } : {}) };
  const kid = jwk.kid ?? (await calculateJwkThumbprint(bare));
  return { kid, alg, privateKey, publicJwk: { ...bare, kid, alg, use: 'sig' } };
}

/** A new ES256 key, as a private JWK (sealed before it is stored). */
export async function generateSigningKey(): Promise<{ kid: string; alg: string; privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = await toSigningKey({ ...privateKey.export({ format: 'jwk' }), alg: 'ES256' });
  return { kid: key.kid, alg: key.alg, privateJwk: { ...privateKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg }, publicJwk: key.publicJwk };
}

/**
 * Keys from AUTH_SIGNING_KEYS (base64 of a private JWK set). The first key signs; every key is
 * published. Rotating without downtime: add the new key second and deploy; move it first and deploy;
 * drop the old one once its tokens have expired.
 */
export async function keyRingFromEnvironment(base64: string): Promise<KeyRing> {
  let set: unknown;
  try {
    set = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch (error) {
    throw new Error('AUTH_SIGNING_KEYS is not base64 of a JSON JWK set', { cause: error });
  }
  const jwks = (set as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(jwks) || jwks.length === 0) throw new Error('AUTH_SIGNING_KEYS holds no keys');
  const keys = await Promise.all(jwks.map((jwk) => toSigningKey(jwk as JWK)));
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new Error('AUTH_SIGNING_KEYS has a kid twice');
  const published = { keys: keys.map((k) => k.publicJwk) };
  return { current: () => keys[0]!, jwks: () => published, reload: async () => undefined, stop: () => undefined };
}
