/**
 * The access-token contract shared by the signer (auth-service) and every verifier (hub, spokes), so
 * both ends spell the header and claims the same way. Refresh tokens are opaque and never JWTs.
 */

/** JWT header `typ` of an access token (RFC 9068), so no other JWT the platform signs can pass as one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** Far above any access token the auth spoke signs: a longer bearer value is refused before it is decoded. */
export const MAX_ACCESS_TOKEN_LENGTH = 8_192;

/** Asymmetric algorithms only: verifiers hold public keys and can never mint tokens. */
export const ACCESS_TOKEN_ALGORITHMS = ['ES256', 'EdDSA'] as const;

export const USER_ID_CLAIM = 'sub';
export const ROLE_CLAIM = 'role';
/**
 * Whether the account's current email was proven (a link sent to it was followed): OIDC's
 * `email_verified`. Tokens signed before the claim existed lack it; verifiers read that as false.
 */
export const EMAIL_VERIFIED_CLAIM = 'email_verified';

export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Where the auth spoke publishes its public keys. */
export const JWKS_PATH = '/.well-known/jwks.json';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
