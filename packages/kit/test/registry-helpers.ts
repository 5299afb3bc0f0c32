import { createLogger, type Logger } from '../src/logger.js';
import { captureLogs } from '../src/testing/log-capture.js';
import { eventually as pollUntil } from '../src/testing/process.js';
import type { RegisterInstanceOptions } from '../src/registry/client.js';


/** The kit's `eventually`, failing with `what` in the message so a timeout says which condition. */
export async function eventually<T>(what: string, probe: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 25 } = {}): Promise<NonNullable<T>> {
  try {
    return (await pollUntil(async () => (await probe()) || undefined, timeoutMs, intervalMs)) as NonNullable<T>;
  } catch (error) {
    throw new Error(`waiting until ${what}: ${(error as Error).message}`);
  }
}

export function debugLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const { stream, lines } = captureLogs();
  return { logger: createLogger({ service: 'registry-test', level: 'debug', destination: stream }), lines };
}

export function spokeFields(service = 'users'): Pick<RegisterInstanceOptions, 'service' | 'routePrefix' | 'url' | 'version' | 'publicRoutes' | 'routeLimits' | 'tasks'> {
  return {
    service,
    routePrefix: service,
    url: 'http://10.0.0.7:3002',
    version: '1.2.3',
    publicRoutes: [{ method: 'POST', path: '/login' }],
    routeLimits: [{ method: 'POST', path: '/login', limit: 5, windowMs: 60_000, onStoreDown: 'closed' }],
    tasks: [{ type: 'users.reindex', allowed: 'admins', inputSchema: { type: 'object' } }],
  };
}
