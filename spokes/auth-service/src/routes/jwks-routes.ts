import { defineRoute, JWKS_PATH, type ApiRoute } from '@hubspoke/kit';
import type { z } from 'zod';
import type { KeyRing } from '../domain/signing-keys.js';
import { JsonWebKeySet } from './auth-schemas.js';

/** The public keys every verifier (hub, spokes) fetches and caches by kid. */
export function jwksRoutes(keys: KeyRing): ApiRoute[] {
  return [
    defineRoute({
      method: 'get', path: JWKS_PATH, public: true, tags: ['auth'], summary: 'The public keys that verify access tokens',
      response: {
        description: 'Upcoming, current and recently retired keys',
        body: JsonWebKeySet,
        // Short: verifiers refetch on an unknown kid anyway, and a retired key should disappear soon.
        headers: { 'Cache-Control': 'public, max-age=60' },
      },
      // jose types every JWK member as optional; the response check (VALIDATE_RESPONSES) proves kty and kid are there.
      handler: () => keys.jwks() as z.input<typeof JsonWebKeySet>,
    }),
  ];
}
