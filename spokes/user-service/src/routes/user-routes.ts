import { defineRoute, requestedPage, type ApiRoute } from '@hubspoke/kit';
import type { ProfileChanges } from '../domain/profile.js';
import type { ProfileService } from '../domain/profile-service.js';
import { invalidCursor, invalidUserId, userNotFound } from '../domain/user-errors.js';
import { PageQuery, ProfileChangesBody, unknownProfileKey, UserIdParams } from './profile-input.js';
import { ProfileBody, ProfilePageBody } from './profile-schemas.js';
import { actorOf } from './request-identity.js';

const tags = ['users'];
// Personal data: no shared cache may keep it.
const headers = { 'Cache-Control': 'private, no-store' };

/** The hub strips `/api/users`: `/me`, `/:id`, `/`. Every route needs a token this spoke verifies itself. */
export function userRoutes({ profiles }: { profiles: ProfileService }): ApiRoute[] {
  return [
    defineRoute({
      method: 'get', path: '/me', tags, summary: 'Your profile',
      description: 'Made from your token if the registration has not reached this service yet.',
      response: { description: 'Your profile', body: ProfileBody, headers },
      errors: [userNotFound],
      handler: (_input, req) => profiles.me(actorOf(req).identity),
    }),
    defineRoute({
      method: 'patch', path: '/me', tags, summary: 'Change your name, bio, avatar or preferences',
      request: { body: ProfileChangesBody, unknownKey: unknownProfileKey },
      response: { description: 'The profile after the change', body: ProfileBody, headers },
      errors: [userNotFound],
      handler: ({ body }, req) => profiles.updateMe(actorOf(req).identity, definedFields(body)),
    }),
    defineRoute({
      method: 'get', path: '/', role: 'admin', tags, summary: 'Every live profile, a page at a time (admins)',
      request: { query: PageQuery },
      response: { description: 'One page, oldest first', body: ProfilePageBody, headers },
      errors: [invalidCursor],
      handler: ({ query }) => profiles.list(requestedPage(query)),
    }),
    defineRoute({
      method: 'get', path: '/:id', tags, summary: 'A profile: your own, or anyone\'s for admins',
      request: { params: UserIdParams, invalidParams: invalidUserId },
      response: { description: 'The profile', body: ProfileBody, headers },
      errors: [userNotFound],
      handler: ({ params }, req) => {
        const actor = actorOf(req);
        return profiles.get(actor, actor.identity, params.id);
      },
    }),
    defineRoute({
      method: 'delete', path: '/:id', tags, summary: 'Delete a profile: your own, or anyone\'s for admins',
      request: { params: UserIdParams, invalidParams: invalidUserId },
      response: { status: 204, description: 'Deleted; the other services are told (user.deleted)', headers },
      errors: [userNotFound],
      handler: ({ params }, req) => {
        const actor = actorOf(req);
        return profiles.remove(actor, actor.identity, params.id);
      },
    }),
  ];
}

/** An absent field is not a change: `{ bio: undefined }` must not clear the bio. */
function definedFields(body: object): ProfileChanges {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as ProfileChanges;
}
