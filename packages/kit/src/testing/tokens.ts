import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { ACCESS_TOKEN_TYPE, EMAIL_VERIFIED_CLAIM, ROLE_CLAIM } from '../auth/token-contract.js';
import type { JsonWebKeySet } from '../auth/key-source.js';

export const TEST_ISSUER = 'hubspoke-auth-test';
export const TEST_AUDIENCE = 'hubspoke';

export interface TestKeys {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** What the auth spoke would serve at /.well-known/jwks.json. */
  jwks: JsonWebKeySet;
}

/** A fresh signing key pair, shaped like the auth spoke's, so tests mint tokens without it. */
export async function createTestKeys(alg: 'ES256' | 'EdDSA' | 'ES384' = 'ES256'): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const kid = `test-${randomUUID()}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk, jwks: { keys: [publicJwk] } };
}

export interface TestTokenOptions {
  /** Leave sub or role out to mint a token that lacks the claim. */
  sub?: string;
  role?: string;
  /** The `email_verified` claim; left out (as in tokens signed before the claim existed) when undefined. */
  emailVerified?: boolean;
  /** Seconds from now; negative for an already expired token. */
  expiresIn?: number;
  /** Seconds from now before which the token is not valid. */
  notBefore?: number;
  /** Seconds from now the token claims to be issued at (`iat`); 0 by default, null leaves the claim out. */
  issuedAt?: number | null;
  /** The `jti`; a fresh UUID by default, null leaves the claim out. */
  tokenId?: string | null;
  issuer?: string;
  audience?: string;
  /** Header values; null leaves the parameter out. */
  typ?: string | null;
  kid?: string | null;
}

/** Signs an access token with the same header and claims the auth spoke uses. */
export async function signTestToken(keys: TestKeys, options: TestTokenOptions): Promise<string> {
  const { sub, role, expiresIn = 300, notBefore, issuer = TEST_ISSUER, audience = TEST_AUDIENCE, issuedAt = 0, tokenId = randomUUID() } = options;
  const typ = options.typ === undefined ? ACCESS_TOKEN_TYPE : options.typ;
  const kid = options.kid === undefined ? keys.kid : options.kid;
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    ...(role === undefined ? {} : { [ROLE_CLAIM]: role }),
    ...(options.emailVerified === undefined ? {} : { [EMAIL_VERIFIED_CLAIM]: options.emailVerified }),
  })
    .setProtectedHeader({ alg: keys.alg, ...(typ === null ? {} : { typ }), ...(kid === null ? {} : { kid }) })
    .setIssuer(issuer)
    .setAudience(audience)
    .setExpirationTime(now + expiresIn);
  if (issuedAt !== null) jwt.setIssuedAt(now + issuedAt);
  if (tokenId !== null) jwt.setJti(tokenId);
  if (sub !== undefined) jwt.setSubject(sub);
  if (notBefore !== undefined) jwt.setNotBefore(now + notBefore);
  return jwt.sign(keys.privateKey);
}
