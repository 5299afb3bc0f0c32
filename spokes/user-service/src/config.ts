import { envReader, readAmqpEnv, readInstanceEnv, readPostgresEnv, readTokenEnv } from '@hubspoke/kit';

/** Every variable the user spoke reads; nothing else in the service knows their names. */
export function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = {
    ...readInstanceEnv(read, { port: 3002 }),
    ...readPostgresEnv(read),
    ...readAmqpEnv(read),
    ...readTokenEnv(read),
  };
  read.assertValid('user');
  return Object.freeze(config);
}

export type UserConfig = ReturnType<typeof loadConfig>;
