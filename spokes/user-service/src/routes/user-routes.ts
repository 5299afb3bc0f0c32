import { authenticate, requireRole, type TokenVerifier } from '@hubspoke/kit';
import express, { type Router } from 'express';
import type { ProfileService } from '../domain/profile-service.js';
import { parsePageQuery, parseProfileChanges, parseUserId } from './profile-input.js';
import { actorOf } from './request-identity.js';

/** The hub strips `/api/users`: `/me`, `/:id`, `/`. Every route needs a token this spoke verifies itself. */
export function userRoutes({ profiles, verifier }: { profiles: ProfileService; verifier: TokenVerifier }): Router {
  const router = express.Router();
  router.use(authenticate(verifier), (_req, res, next) => {
    // Personal data: no shared cache may keep it.
    res.setHeader('Cache-Control', 'private, no-store');
    next();
  });

  router.get('/me', async (req, res) => {
    res.json(await profiles.me(actorOf(req).identity));
  });
  router.patch('/me', async (req, res) => {
    const actor = actorOf(req);
    res.json(await profiles.updateMe(actor.identity, parseProfileChanges(req.body)));
  });
  router.get('/', requireRole('admin'), async (req, res) => {
    res.json(await profiles.list(parsePageQuery(req.query)));
  });
  router.get('/:id', async (req, res) => {
    const actor = actorOf(req);
    res.json(await profiles.get(actor, actor.identity, parseUserId(req.params.id)));
  });
  router.delete('/:id', async (req, res) => {
    const actor = actorOf(req);
    await profiles.remove(actor, actor.identity, parseUserId(req.params.id));
    res.status(204).end();
  });
  return router;
}
