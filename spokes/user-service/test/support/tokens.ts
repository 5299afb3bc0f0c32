import { ACCESS_TOKEN_TYPE } from '@hubspoke/kit';
import { signTestToken, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '@hubspoke/kit/testing';

/** An access token for `sub`; `claims` adds what the kit's helper can't (email, name). */
export async function tokenFor(keys: TestKeys, sub: string, role: 'user' | 'admin' = 'user', claims?: Record<string, unknown>): Promise<string> {
  if (!claims) return signTestToken(keys, { sub, role });
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'ES256', typ: ACCESS_TOKEN_TYPE, kid: keys.kid })}.${encode({
    ...claims, sub, role, iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now, exp: now + 300, jti: crypto.randomUUID(),
  })}`;
  // WebCrypto ECDSA signatures are already in the JWS (IEEE P1363) form.
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}
