import { envReader, readInstanceEnv } from '@hubspoke/kit';

/** Every variable the user spoke reads; nothing else in the service knows their names. */
export function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = {
    ...readInstanceEnv(read, { port: 3002 }),
    databaseUrl: read.url('DATABASE_URL'),
    amqpUrl: read.url('AMQP_URL'),
    amqpPrefix: read.string('AMQP_PREFIX', ''),
    auth: {
      jwksUrl: read.url('AUTH_JWKS_URL'),
      issuer: read.string('AUTH_ISSUER', 'hubspoke-auth'),
      audience: read.string('AUTH_AUDIENCE', 'hubspoke'),
    },
  };
  read.assertValid('user');
  return Object.freeze(config);
}

export type UserConfig = ReturnType<typeof loadConfig>;
