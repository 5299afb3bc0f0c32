/**
 * How long the analytics spoke takes to answer a year of daily data in one query, against the local
 * Postgres (TEST_POSTGRES_URL): a year of daily counts for TYPES event types (8 shard rows each, as
 * ingestion writes them; job.finished per status) and of active users, then RUNS timed reads of the daily
 * series of one type and of the year's summary, through the spoke's own queries (what the routes call). Bounded: a fixed data set and RUNS reads, its own
 * database, dropped at the end.
 *
 *   npm run bench -- analytics     (BENCH_TYPES=40, BENCH_RUNS=30 by default)
 */
import { fileURLToPath } from 'node:url';
import { createLogger, createPool, migrate, MESSAGING_MIGRATIONS_DIR } from '../packages/kit/src/index.js';
import { createTestDatabase } from '../packages/kit/src/testing/index.js';
import { createQueries } from '../spokes/analytics-service/src/domain/queries.js';
import { JOB_STATUSES, REPORT_TYPES } from '../spokes/analytics-service/src/domain/report-types.js';
import type { SuiteResult } from './support/report.js';

const TYPES = Number(process.env.BENCH_TYPES ?? 40);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const SHARDS = 8;

export async function run(): Promise<SuiteResult> {
  const logger = createLogger({ service: 'bench', level: 'error' });
  const database = await createTestDatabase('bench_analytics');
  const db = createPool({ connectionString: database.url, applicationName: 'bench' }, logger);
  const markdown = ['| query | median ms | p95 ms | max ms |', '|---|---|---|---|'];
  const data: Record<string, { medianMs: number; p95Ms: number; maxMs: number }> = {};
  try {
    await migrate(db, MESSAGING_MIGRATIONS_DIR, logger);
    await migrate(db, fileURLToPath(new URL('../spokes/analytics-service/migrations', import.meta.url)), logger);
    const types = [...Object.values(REPORT_TYPES), ...Array.from({ length: TYPES }, (_, i) => `client.bench_${i}`)];
    const end = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()));
    const start = new Date(end.getTime() - 365 * 86_400_000);
    await db.query(
      `INSERT INTO counts_day (type, day, status, shard, count)
       SELECT t, d::date, st, s, 1 + (random() * 1000)::int
       FROM unnest($1::text[]) AS t
       CROSS JOIN LATERAL unnest(CASE WHEN t = $5 THEN $6::text[] ELSE ARRAY[''] END) AS st,
       generate_series($2::timestamptz AT TIME ZONE 'UTC', $3::timestamptz AT TIME ZONE 'UTC', interval '1 day') AS d, generate_series(0, $4 - 1) AS s`,
      [types, start, end, SHARDS, REPORT_TYPES.jobFinished, JOB_STATUSES]);
    await db.query(
      `INSERT INTO active_users_day (day, shard, count)
       SELECT d::date, s, (random() * 5000)::int FROM generate_series($1::timestamptz AT TIME ZONE 'UTC', $2::timestamptz AT TIME ZONE 'UTC', interval '1 day') AS d, generate_series(0, $3 - 1) AS s`,
      [start, end, SHARDS]);
    await db.query('ANALYZE');
    const rows = Number((await db.query('SELECT count(*) AS n FROM counts_day')).rows[0].n);

    const queries = createQueries({ db, retentionDays: 90 });
    const time = async (what: string, read: () => Promise<unknown>) => {
      await read();
      const ms: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const began = process.hrtime.bigint();
        await read();
        ms.push(Number(process.hrtime.bigint() - began) / 1e6);
      }
      ms.sort((a, b) => a - b);
      const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]! * 10) / 10;
      data[what] = { medianMs: at(0.5), p95Ms: at(0.95), maxMs: at(1) };
      markdown.push(`| ${what} | ${at(0.5)} | ${at(0.95)} | ${at(1)} |`);
      process.stdout.write(`  ${what}: median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms over ${RUNS} runs\n`);
    };
    markdown.unshift(`${types.length} types (job.finished × ${JOB_STATUSES.length} statuses) × 366 days × ${SHARDS} shards = ${rows} daily count rows; ${RUNS} timed reads each.`, '');
    await time('series, one type, 366 daily buckets', () => queries.metrics({ type: REPORT_TYPES.login, interval: 'day', from: start, to: new Date(end.getTime() + 86_400_000) }));
    await time('summary, 366 days', () => queries.summary({ from: start.toISOString().slice(0, 10), to: end.toISOString().slice(0, 10) }));
  } finally {
    await db.end();
    await database.drop();
  }
  return { name: 'analytics', markdown, targets: [], data };
}
