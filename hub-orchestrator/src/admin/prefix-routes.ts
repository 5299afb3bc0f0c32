import { defineRoute, notFound, type ApiRoute, type Logger } from '@hubspoke/kit';
import { z } from 'zod';
import type { OwnedRegistry } from '../ownership/owned-registry.js';

const prefixNotBound = () => notFound('REGISTRY.PREFIX_NOT_BOUND', 'No service owns this route prefix');

const Binding = z.object({ prefix: z.string(), service: z.string(), claimedAt: z.iso.datetime() });
const PrefixList = z.object({
  prefixes: z.array(Binding),
  refusedClaims: z.array(z.object({
    prefix: z.string(), service: z.string(), owner: z.string().nullable().meta({ description: 'null: several new services contest an unbound prefix' }),
  })).meta({ description: 'Live instances claiming a prefix they do not own: never routed' }),
}).meta({ id: 'RoutePrefixOwners' });
const Released = z.object({ released: Binding }).meta({ id: 'ReleasedRoutePrefix' });
const PrefixParams = z.object({ prefix: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/) });

const toView = (binding: { prefix: string; service: string; claimedAt: Date }) => ({ ...binding, claimedAt: binding.claimedAt.toISOString() });

/**
 * `GET /api/hub/registry/prefixes` and `DELETE /api/hub/registry/prefixes/:prefix` (admins): which service
 * owns each route prefix, and the one way to release one (e.g. to hand it to a replacement service).
 */
export function prefixRoutes({ owned, logger }: { owned: Pick<OwnedRegistry, 'bindings' | 'refused' | 'release'>; logger: Logger }): ApiRoute[] {
  return [
    defineRoute({
      method: 'get', path: '/registry/prefixes', role: 'admin', tags: ['hub'], summary: 'Which service owns each route prefix, and refused claims (admins)',
      response: { description: 'Every bound prefix, oldest claim first within each prefix order', body: PrefixList, headers: { 'Cache-Control': 'no-store' } },
      handler: () => ({
        prefixes: owned.bindings().map(toView),
        refusedClaims: owned.refused().map(({ prefix, service, owner }) => ({ prefix, service, owner: owner ?? null })),
      }),
    }),
    defineRoute({
      method: 'delete', path: '/registry/prefixes/:prefix', role: 'admin', tags: ['hub'],
      summary: 'Release a route prefix from its owner, so the next service claiming it is bound to it (admins)',
      description: 'Stop the old owner first: while it still runs it may claim the prefix again, and two live claimants bind neither.',
      request: { params: PrefixParams },
      response: { description: 'The binding that was removed', body: Released, headers: { 'Cache-Control': 'no-store' } },
      errors: [prefixNotBound],
      handler: async ({ params }, req) => {
        const released = await owned.release(params.prefix);
        if (!released) throw prefixNotBound();
        logger.warn({ prefix: released.prefix, service: released.service, adminId: req.auth?.userId }, 'route prefix released by an admin');
        return { released: toView(released) };
      },
    }),
  ];
}
