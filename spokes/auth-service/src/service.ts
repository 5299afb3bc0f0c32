import { fileURLToPath } from 'node:url';
import { createRevocationWriter, type AppContext, type ServiceContext, type ServiceDefinition } from '@hubspoke/kit';
import { createApp } from './app.js';
import type { AuthConfig } from './config.js';
import { userDeletedConsumer } from './consumers/user-deleted-consumer.js';
import { createRefreshTokenRepository } from './data/refresh-token-repository.js';
import { createAuthDomain } from './domain/auth-domain.js';
import { loadKeyRing } from './domain/key-ring.js';
import { createPasswordHasher } from './domain/passwords.js';
import { PUBLIC_ROUTES, ROUTE_LIMITS } from './routes/hub-record.js';

const PRUNE_INTERVAL_MS = 3_600_000;

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
 * writes, in the Redis namespace they share), the first admin, and hourly pruning.
 */
async function startAuthDomain({ config, db, logger, onStop }: ServiceContext<AuthConfig>) {
  const keys = await loadKeyRing(config, db, logger);
  onStop('signing key reload', () => keys.stop());
  const revocations = createRevocationWriter({
    redisUrl: config.redisUrl, keyPrefix: config.registryKeyPrefix, accessTokenTtlMs: config.tokens.accessTokenTtlMs, logger,
  });
  onStop('revocation writer', () => revocations.close());
  const passwords = await createPasswordHasher(config.argon2);
  const domain = { keys, revocations, ...createAuthDomain({ config, db, keys, passwords, revocations, logger }) };
  if (config.admin) await domain.accounts.ensureAdmin(config.admin);
  const prune = setInterval(() => {
    Promise.all([domain.throttle.prune(), createRefreshTokenRepository(db).deleteExpired(config.tokens.refreshTokenTtlMs)])
      .then(([failures, tokens]) => logger.debug({ failures, tokens }, 'pruned expired login failures and refresh tokens'))
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning failed'));
  }, PRUNE_INTERVAL_MS);
  prune.unref();
  onStop('pruning timer', () => clearInterval(prune));
  logger.info({ kid: keys.current().kid }, 'signing key loaded');
  return domain;
}

export type AuthDomain = Awaited<ReturnType<typeof startAuthDomain>>;
export type AuthContext = AppContext<AuthConfig, AuthDomain>;
