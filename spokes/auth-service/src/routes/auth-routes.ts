import { defineRoute, type ApiRoute } from '@hubspoke/kit';
import type { Request } from 'express';
import { emailTaken, invalidCredentials, loginThrottled, refreshExpired, refreshInvalid, refreshReused, revocationUnavailable } from '../domain/auth-errors.js';
import type { Accounts } from '../domain/accounts.js';
import type { Sessions } from '../domain/sessions.js';
import { LoginBody, RefreshBody, RegisterBody, SignedIn, TokenPair } from './auth-schemas.js';

const tags = ['auth'];
// Tokens must not stay in a browser's or a proxy's cache.
const NO_STORE = { 'Cache-Control': 'no-store' };

/** Routes after the hub strips `/api/auth`; all public (hub-record.ts tells the hub the same). */
export function authRoutes({ accounts, sessions }: { accounts: Accounts; sessions: Sessions }): ApiRoute[] {
  return [
    defineRoute({
      method: 'post', path: '/register', public: true, tags, summary: 'Create an account and sign in',
      request: { body: RegisterBody },
      response: { status: 201, description: 'The account and its first session', body: SignedIn, headers: NO_STORE },
      errors: [emailTaken],
      handler: ({ body }) => accounts.register(body),
    }),
    defineRoute({
      method: 'post', path: '/login', public: true, tags, summary: 'Sign in with email and password',
      request: { body: LoginBody },
      response: { description: 'A new session', body: SignedIn, headers: NO_STORE },
      errors: [invalidCredentials, () => loginThrottled(60)],
      handler: ({ body }, req) => accounts.login(body, clientIp(req)),
    }),
    defineRoute({
      method: 'post', path: '/refresh', public: true, tags, summary: 'Exchange a refresh token for a new pair',
      request: { body: RefreshBody },
      response: { description: 'The next pair of the same session', body: TokenPair, headers: NO_STORE },
      errors: [refreshInvalid, refreshExpired, refreshReused],
      handler: ({ body }) => sessions.refresh(body.refreshToken),
    }),
    defineRoute({
      method: 'post', path: '/logout', public: true, tags, summary: 'End the session of a refresh token',
      description: 'Its access tokens stop working at the hub at once, not when they expire.',
      request: { body: RefreshBody },
      response: { status: 204, description: 'Ended, or there was nothing to end' },
      errors: [revocationUnavailable],
      handler: ({ body }) => sessions.logout(body.refreshToken),
    }),
  ];
}

/** `req.ip` honours exactly the configured proxy hops (`trust proxy`); IPv4-mapped IPv6 counts as IPv4. */
function clientIp(req: Request): string {
  return (req.ip ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}
