import { randomUUID } from 'node:crypto';
import {
  eventually, startPrivatePostgres, startPrivateRabbitMq, startPrivateRedis, type PrivatePostgres, type PrivateRabbitMq, type PrivateRedis,
} from '@hubspoke/kit/testing';
import { apiClient, startPlatform, type Platform, type PlatformOptions } from '../../support/platform.js';

export interface ChaosWorld {
  postgres: PrivatePostgres;
  redis: PrivateRedis;
  rabbit: PrivateRabbitMq;
  platform: Platform;
  api: ReturnType<typeof apiClient>;
  /** Stops the platform, then removes the private servers. */
  stop: () => Promise<void>;
}

/**
 * The platform as local processes on Postgres, Redis and RabbitMQ servers of this file's own, so a case may stop,
 * hang or kill them: the shared servers other engineers' tests use are never touched.
 */
export async function startChaosWorld(options: Omit<PlatformOptions, 'infra'> = {}): Promise<ChaosWorld> {
  const [postgres, redis, rabbit] = await Promise.all([startPrivatePostgres(), startPrivateRedis(), startPrivateRabbitMq()]);
  let platform: Platform;
  // Without nginx the tests stand in for it (one trusted hop), so each simulated client has an address of its own
  // (`asClient`) and the per-IP limits on register and login count clients, not the test process.
  const hubEnv = options.gateway ? options.hubEnv : { TRUSTED_PROXY_HOPS: '1', ...options.hubEnv };
  try {
    platform = await startPlatform({ ...options, hubEnv, infra: { postgresUrl: postgres.url, redisUrl: redis.url, amqpUrl: rabbit.url } });
  } catch (error) {
    await Promise.all([postgres.remove(), redis.stop(), rabbit.remove()]);
    throw error;
  }
  return {
    postgres, redis, rabbit, platform,
    api: apiClient(() => platform.url),
    stop: async () => {
      redis.resume();
      await platform.stop();
      await Promise.all([postgres.remove(), redis.stop(), rabbit.remove()]);
    },
  };
}

export const PASSWORD = 'a-long-chaos-passphrase';

let clients = 0;
/** Headers of a client with an address of its own (TEST-NET-2), as the gateway would forward them. */
export function asClient(headers: Record<string, string> = {}): Record<string, string> {
  clients++;
  return { ...headers, 'x-forwarded-for': `198.51.${Math.floor(clients / 250) % 250}.${(clients % 250) + 1}` };
}

/** Error-level lines any platform process logged: a 500's cause, for the case's failure message. */
export function loggedErrors(world: Pick<ChaosWorld, 'platform'>, names = ['hub', 'auth', 'user']): string[] {
  return names.flatMap((name) => world.platform.instances(name).flatMap(({ process }) => process.logs
    .filter((line) => Number(line.level) >= 50 || line.level === 'error' || line.level === 'fatal' || line.status === 500)
    .map((line) => `${name}: ${String(line.msg)} ${String((line.err as { message?: string } | undefined)?.message ?? '')}`.trim())));
}

export interface TestUser {
  id: string;
  email: string;
  token: string;
  /** The session's refresh token (what logout takes). */
  refreshToken: string;
}

/** Registers a user through the platform and waits until the user spoke has made its profile (user.registered). */
export async function registerUser(world: Pick<ChaosWorld, 'api'>, label: string): Promise<TestUser> {
  const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const res = await world.api('POST', '/auth/register', { body: { email, password: PASSWORD, name: label }, headers: asClient({ 'x-request-id': `${label}-register` }) });
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${JSON.stringify(res.body)}`);
  const user = { id: (res.body.user as { id: string }).id, email, token: res.body.accessToken as string, refreshToken: res.body.refreshToken as string };
  await eventually(async () => (await world.api('GET', '/users/me', { token: user.token })).status === 200, 20_000, 100);
  return user;
}
