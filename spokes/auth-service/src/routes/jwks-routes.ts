import express, { type Router } from 'express';
import { JWKS_PATH } from '@hubspoke/kit';
import type { KeyRing } from '../domain/signing-keys.js';

/** The public keys every verifier (hub, spokes) fetches and caches by kid. */
export function jwksRoutes(keys: KeyRing): Router {
  const router = express.Router();
  router.get(JWKS_PATH, (_req, res) => {
    // Short: verifiers refetch on an unknown kid anyway, and a retired key should disappear soon.
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json(keys.jwks());
  });
  return router;
}
