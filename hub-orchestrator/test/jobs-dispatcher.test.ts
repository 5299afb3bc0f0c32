import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, createPool, migrate, MESSAGING_MIGRATIONS_DIR, type Pool, type TaskPayload } from '@hubspoke/kit';
import { createTestDatabase, eventually, type TestDatabase } from '@hubspoke/kit/testing';
import { startDispatcher, type Dispatcher } from '../src/jobs/dispatcher.js';
import { jobStore } from '../src/jobs/job-store.js';

const logger = createLogger({ service: 'hub', level: 'silent' });
let database: TestDatabase;
let pool: Pool;
/** Statements and checked-out connections (transactions) of the dispatcher's pool. */
let statements = 0;
const published: TaskPayload[] = [];

beforeAll(async () => {
  database = await createTestDatabase('jobs_dispatcher');
  pool = createPool({ connectionString: database.url, applicationName: 'jobs-dispatcher-test' }, logger);
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      statements++;
      return query(...args);
    };
  });
  await migrate(pool, MESSAGING_MIGRATIONS_DIR, logger);
  await migrate(pool, fileURLToPath(new URL('../migrations/', import.meta.url)), logger);
}, 30_000);
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

/** A dispatcher as the hub runs it (100 ms passes), publishing into `published` as if the broker took every task. */
function dispatcher(): Dispatcher {
  return startDispatcher({
    db: pool, logger, intervalMs: 100, canDispatch: () => true, onOutcome: () => undefined, onDispatched: () => undefined,
    bus: {
      publish: async (envelope) => {
        published.push(envelope.payload as TaskPayload);
      },
    },
  });
}

describe('the job dispatcher', () => {
  test('when no job is queued or running, then it asks Postgres once a second (one statement), not ten times; a job another replica creates is dispatched within about a second', async () => {
    const idle = dispatcher();
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const before = statements;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      // 3 idle passes of one statement each (the 100 ms passes this replaced: 7 statements each, ≈ 200 in 3 s).
      expect(statements - before).toBeLessThanOrEqual(5);

      // Created elsewhere: nothing wakes this dispatcher; its next idle pass finds the job.
      const created = Date.now();
      const outcome = await jobStore(pool).create({
        type: 'test.noop', creator: { userId: 'user-1', role: 'user' }, correlationId: 'c-1', items: [{ key: 'a', input: {} }],
        maxParallel: 1, ratePerSecond: null, retry: { limit: 0, backoffMs: 100, maxBackoffMs: 100 }, itemTimeoutMs: 30_000,
      }, { maxActiveJobs: 10, maxOpenItems: 100 });
      expect('job' in outcome).toBe(true);
      await eventually(() => published.some((task) => task.itemKey === 'a'), 5_000, 20);
      expect(Date.now() - created).toBeLessThan(2_500);
    } finally {
      await idle.stop();
    }
  }, 20_000);
});
