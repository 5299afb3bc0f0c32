import { envReader, readAmqpEnv, readInstanceEnv, readPostgresEnv, readTokenEnv } from '@hubspoke/kit';

/** Every variable the notification spoke reads; nothing else in the service knows their names. */
export function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = {
    ...readInstanceEnv(read, { port: 3003 }),
    ...readPostgresEnv(read),
    ...readAmqpEnv(read),
    ...readTokenEnv(read),
  };
  read.assertValid('notification');
  return Object.freeze(config);
}

export type NotificationConfig = ReturnType<typeof loadConfig>;
