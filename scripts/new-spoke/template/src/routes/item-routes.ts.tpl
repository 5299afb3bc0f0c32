import { authenticate, requireAuth, type TokenVerifier } from '@hubspoke/kit';
import express, { type Router } from 'express';
import type { ItemService } from '../domain/item-service.js';
import { parseItemId, parseNewItem, parsePageQuery } from './item-input.js';

/** The hub strips `/api/{{prefix}}`: `/`, `/:id`. Every route needs a token this spoke verifies itself. */
export function itemRoutes({ items, verifier }: { items: ItemService; verifier: TokenVerifier }): Router {
  const router = express.Router();
  router.use(authenticate(verifier), (_req, res, next) => {
    // Someone's own data: no shared cache may keep it.
    res.setHeader('Cache-Control', 'private, no-store');
    next();
  });

  router.post('/', async (req, res) => {
    res.status(201).json(await items.create(requireAuth(req).userId, parseNewItem(req.body)));
  });
  router.get('/', async (req, res) => {
    res.json(await items.list(requireAuth(req).userId, parsePageQuery(req.query)));
  });
  router.get('/:id', async (req, res) => {
    res.json(await items.get(requireAuth(req).userId, parseItemId(req.params.id)));
  });
  return router;
}
