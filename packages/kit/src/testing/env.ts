import { randomBytes } from 'node:crypto';

/** Test connection URLs: set by .ci/run, defaulting to the local servers. */
export const testPostgresUrl = () => process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const testRedisUrl = () => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const testAmqpUrl = () => process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** The shared broker's management HTTP API (scripts/services.sh enables the plugin), with credentials. */
export const testRabbitMqManagementUrl = () => process.env.TEST_RABBITMQ_MANAGEMENT_URL ?? 'http://guest:guest@127.0.0.1:15672';

/** A short unique prefix for Redis keys and channels, AMQP exchanges and queues, so runs never collide. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
