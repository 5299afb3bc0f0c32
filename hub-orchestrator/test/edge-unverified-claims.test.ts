import type { Request } from 'express';
import { describe, expect, test } from 'vitest';
import { unverifiedClaims } from '../src/edge/unverified-claims.js';

const tokenWith = (payload: unknown) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;
const request = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as Request;

describe('the claims a token makes before it is verified', () => {
  test('when a client sends the same token again, then its payload is not decoded again: the same (frozen) claims come back', () => {
    const token = tokenWith({ sub: 'user-1', jti: 'jti-1' });
    const first = unverifiedClaims(request(`Bearer ${token}`));
    expect(first).toEqual({ sub: 'user-1', jti: 'jti-1' });
    expect(unverifiedClaims(request(`Bearer ${token}`))).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  test('when a token differs in its payload, then it gets its own claims; a malformed one or none gives none', () => {
    expect(unverifiedClaims(request(`Bearer ${tokenWith({ sub: 'user-2', jti: 'jti-2' })}`))).toEqual({ sub: 'user-2', jti: 'jti-2' });
    expect(unverifiedClaims(request(`Bearer ${tokenWith({ sub: 'user-2', jti: 'jti-3' })}`))).toEqual({ sub: 'user-2', jti: 'jti-3' });
    expect(unverifiedClaims(request('Bearer not-a-token'))).toEqual({});
    expect(unverifiedClaims(request(`Bearer ${tokenWith({ sub: 42, jti: 'x'.repeat(200) })}`))).toEqual({});
    expect(unverifiedClaims(request())).toEqual({});
  });
});
