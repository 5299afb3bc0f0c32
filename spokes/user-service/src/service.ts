import { fileURLToPath } from 'node:url';
import type { AppContext, ServiceDefinition } from '@hubspoke/kit';
import { createApp } from './app.js';
import type { UserConfig } from './config.js';
import { userRegisteredConsumer } from './consumers/user-registered-consumer.js';
import { createProfileService } from './domain/profile-service.js';

/** Everything the kit needs to start the user spoke; `main.ts` runs it, tests start it the same way. */
export function userService(config: UserConfig): ServiceDefinition<UserConfig, UserDomain> {
  return {
    name: 'user',
    version: '0.1.0',
    config,
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
    registration: { routePrefix: 'users' },
    domain: ({ db, logger }) => ({ profiles: createProfileService({ db, logger }) }),
    consumers: (context) => [userRegisteredConsumer(context)],
    createApp,
  };
}

export type UserDomain = { profiles: ReturnType<typeof createProfileService> };
export type UserContext = AppContext<UserConfig, UserDomain>;
