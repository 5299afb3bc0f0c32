import { envReader, readAmqpEnv, readInstanceEnv, readPostgresEnv, readTokenEnv } from '@hubspoke/kit';

/** Every variable the {{name}} spoke reads; nothing else in the service knows their names. */
export function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = {
    ...readInstanceEnv(read, { port: {{port}} }),
    ...readPostgresEnv(read),
    ...readAmqpEnv(read),
    ...readTokenEnv(read),
  };
  read.assertValid('{{name}}');
  return Object.freeze(config);
}

export type {{Pascal}}Config = ReturnType<typeof loadConfig>;
