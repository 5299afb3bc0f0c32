import { fileURLToPath } from 'node:url';
import { createRevocationWriter, type AppContext, type ServiceContext, type ServiceDefinition } from '@hubspoke/kit';
import { createApp } from './app.js';
import type { AuthConfig } from './config.js';
import { userDeletedConsumer } from './consumers/user-deleted-consumer.js';
import { createAccountTokenRepository } from './data/account-token-repository.js';
import { createRefreshTokenRepository } from './data/refresh-token-repository.js';
import { createAuthDomain } from './domain/auth-domain.js';
import { ensureFirstAdmin } from './domain/first-admin.js';
import { loadKeyRing } from './domain/key-ring.js';
import { createPasswordHasher } from './domain/passwords.js';
import { PUBLIC_ROUTES, ROUTE_LIMITS } from './routes/hub-record.js';

const PRUNE_INTERVAL_MS = 3_600_000;
// An expired link still answers "expired" (not "invalid") for a day.
const EXPIRED_LINK_KEEP_MS = 24 * 3_600_000;

/** Everything the kit needs to start the auth spoke; `main.ts` runs it, tests start it the same way. */
export function authService(config: AuthConfig): ServiceDefinition<AuthConfig, AuthDomain> {
  return {
    name: 'auth',
    version: '0.1.0',
    config,
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
    registration: { routePrefix: 'auth', publicRoutes: PUBLIC_ROUTES, routeLimits: ROUTE_LIMITS },
    domain: startAuthDomain,
    consumers: (context) => [userDeletedConsumer(context)],
    createApp,
  };
}

/**
 * The key ring (shared by replicas through the database), the revocation writer (the hub reads what it
 * writes, in the Redis namespace they share), the first admin, hourly pruning, and deferred emails drained at stop.
 */
async function startAuthDomain({ config, db, logger, metrics, onStop }: ServiceContext<AuthConfig>) {
  const keys = await loadKeyRing(config, db, logger);
  onStop('signing key reload', () => keys.stop());
  const revocations = createRevocationWriter({
    redisUrl: config.redisUrl, keyPrefix: config.registryKeyPrefix, accessTokenTtlMs: config.tokens.accessTokenTtlMs, logger,
  });
  onStop('revocation writer', () => revocations.close());
  const passwords = await createPasswordHasher(config.argon2);
  const domain = { keys, revocations, ...createAuthDomain({ config, db, keys, passwords, metrics, revocations, logger }) };
  onStop('deferred account emails', () => domain.background.drain());
  if (config.admin) await ensureFirstAdmin({ db, passwords, logger }, config.admin);
  const prune = setInterval(() => {
    Promise.all([
      domain.throttle.prune(),
      createRefreshTokenRepository(db).deleteExpired(config.tokens.refreshTokenTtlMs),
      createAccountTokenRepository(db).deleteExpired(EXPIRED_LINK_KEEP_MS),
    ])
      .then(([failures, tokens, links]) => logger.debug({ failures, tokens, links }, 'pruned expired login failures, refresh tokens and links'))
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning failed'));
  }, PRUNE_INTERVAL_MS);
  prune.unref();
  onStop('pruning timer', () => clearInterval(prune));
  logger.info({ kid: keys.current().kid }, 'signing key loaded');
  return domain;
}

export type AuthDomain = Awaited<ReturnType<typeof startAuthDomain>>;
export type AuthContext = AppContext<AuthConfig, AuthDomain>;
