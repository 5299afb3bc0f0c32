import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { tokenExpired, tokenInvalid } from './auth-errors.js';
import type { KeySource } from './key-source.js';
import { ACCESS_TOKEN_ALGORITHMS, ACCESS_TOKEN_TYPE, EMAIL_VERIFIED_CLAIM, isRole, MAX_ACCESS_TOKEN_LENGTH, ROLE_CLAIM, USER_ID_CLAIM, type Role } from './token-contract.js';

export interface TokenVerifierOptions {
  keys: KeySource;
  issuer: string;
  audience: string;
  /** Allow-list of JWS algorithms; anything else (none, HS256, ...) is refused before any key is looked up. */
  algorithms?: readonly string[];
  clockToleranceSec?: number;
}

export interface VerifiedToken {
  userId: string;
  role: Role;
  /** The `email_verified` claim; false when it is missing or not `true`. */
  emailVerified: boolean;
  /** `jti`: what a logout revokes. */
  tokenId: string;
  /** `iat`, unix seconds: what a user's "not before" is compared with. */
  issuedAt: number;
  /** Profile claims, when the token carries them as strings. */
  email?: string;
  name?: string;
  claims: JWTPayload;
}

export interface TokenVerifier {
  /** Resolves the token's user or rejects with a 401 AppError (AUTH.TOKEN_INVALID / AUTH.TOKEN_EXPIRED). */
  verify(token: string): Promise<VerifiedToken>;
}

const MAX_KID_LENGTH = 256;
const MAX_JTI_LENGTH = 128;

export function createTokenVerifier({
  keys, issuer, audience, algorithms = ACCESS_TOKEN_ALGORITHMS, clockToleranceSec = 5,
}: TokenVerifierOptions): TokenVerifier {
  const allowed = new Set(algorithms);
  return {
    async verify(token) {
      const { alg, kid } = readAccessTokenHeader(token, allowed);
      const key = await keys.getKey(kid);
      // A key is bound to one algorithm, so a header can't pick another way to use it.
      if (!key || key.alg !== alg) throw tokenInvalid(new Error(key ? 'alg does not match the key' : 'unknown kid'));
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(token, key.key, {
          issuer, audience, algorithms: [alg], clockTolerance: clockToleranceSec, requiredClaims: ['exp'],
        }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) throw tokenExpired(error);
        if (error instanceof errors.JOSEError) throw tokenInvalid(error);
        throw error;
      }
      const userId = claims[USER_ID_CLAIM];
      const role = claims[ROLE_CLAIM];
      if (typeof userId !== 'string' || !userId) throw tokenInvalid(new Error('no sub claim'));
      if (!isRole(role)) throw tokenInvalid(new Error('no valid role claim'));
      const { email, name, jti, iat } = claims;
      // Checked here rather than as jose's requiredClaims, so an expired token is still told apart as expired.
      if (typeof jti !== 'string' || !jti || jti.length > MAX_JTI_LENGTH) throw tokenInvalid(new Error('no usable jti claim'));
      // jose checks `iat` is a number but accepts one in the future: a token "issued" later would outlive
      // a revocation of everything its user held before.
      if (typeof iat !== 'number' || iat > Date.now() / 1000 + clockToleranceSec) throw tokenInvalid(new Error('iat is in the future'));
      return {
        userId, role, claims, emailVerified: claims[EMAIL_VERIFIED_CLAIM] === true, tokenId: jti, issuedAt: iat,
        ...(typeof email === 'string' ? { email } : {}),
        ...(typeof name === 'string' ? { name } : {}),
      };
    },
  };
}

/** Checks what can be checked without a key, so junk never reaches the key source (and never triggers a JWKS fetch). */
function readAccessTokenHeader(token: string, allowed: ReadonlySet<string>): { alg: string; kid: string } {
  let header: ProtectedHeaderParameters;
  try {
    if (typeof token !== 'string' || token.length > MAX_ACCESS_TOKEN_LENGTH) throw new Error('not a token of a sane size');
    header = decodeProtectedHeader(token);
  } catch (error) {
    throw tokenInvalid(error);
  }
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string' || !allowed.has(alg)) throw tokenInvalid(new Error(`alg ${String(alg)} is not allowed`));
  if (!isAccessTokenType(typ)) throw tokenInvalid(new Error(`typ ${String(typ)} is not an access token`));
  if (typeof kid !== 'string' || !kid || kid.length > MAX_KID_LENGTH) throw tokenInvalid(new Error('no usable kid'));
  return { alg, kid };
}

// RFC 9068 lets the media type come with or without its "application/" prefix, in any case.
function isAccessTokenType(typ: unknown): boolean {
  return typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === ACCESS_TOKEN_TYPE;
}
