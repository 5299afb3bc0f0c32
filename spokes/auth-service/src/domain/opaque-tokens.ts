import { createHash, randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32;
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/**
 * 32 random bytes, base64url: refresh tokens and the one-time tokens of emailed links. Opaque, never a
 * JWT, so none can pass as an access token.
 */
export function newOpaqueToken(): { token: string; hash: Buffer } {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, hash: hashOpaqueToken(token) };
}

export const isOpaqueTokenShaped = (token: string) => TOKEN_FORMAT.test(token);

/** Only this is stored: a leaked table yields no usable token (256 bits of entropy need no slow hash). */
export function hashOpaqueToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
