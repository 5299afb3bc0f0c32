import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ACCESS_TOKEN_TYPE, EMAIL_VERIFIED_CLAIM, ROLE_CLAIM, USER_ID_CLAIM, type Role } from '@hubspoke/kit';
import type { TokenSettings } from '../config.js';
import type { KeyRing } from './signing-keys.js';

export interface SignedAccessToken {
  accessToken: string;
  /** Lifetime in seconds. */
  expiresIn: number;
  /** Its `jti` and `exp` (unix seconds): what a logout revokes, and until when. */
  tokenId: string;
  expiresAt: number;
}

export interface AccessTokenSigner {
  /** A signed access token and its lifetime in seconds. */
  sign: (user: { userId: string; role: Role; emailVerified: boolean }) => Promise<SignedAccessToken>;
}

/** Signs with the key ring's current key, in the header and claims of the kit's token contract. */
export function createAccessTokenSigner(keys: KeyRing, { issuer, audience, accessTokenTtlMs }: TokenSettings): AccessTokenSigner {
  const expiresIn = Math.max(1, Math.floor(accessTokenTtlMs / 1000));
  return {
    async sign({ userId, role, emailVerified }) {
      const key = keys.current();
      const now = Math.floor(Date.now() / 1000);
      const tokenId = randomUUID();
      const accessToken = await new SignJWT({ [USER_ID_CLAIM]: userId, [ROLE_CLAIM]: role, [EMAIL_VERIFIED_CLAIM]: emailVerified })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + expiresIn)
        .setJti(tokenId)
        .sign(key.privateKey);
      return { accessToken, expiresIn, tokenId, expiresAt: now + expiresIn };
    },
  };
}
