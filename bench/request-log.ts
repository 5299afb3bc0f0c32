/**
 * What the per-request log line costs: CPU µs per request of one process serving an Express app with the
 * kit's request context and metrics, with and without `requestLog`, side by side. The client runs in the same
 * process, so each figure includes it; the difference between the two is the log line's cost (noisy on a
 * shared machine, so the line alone, written LINES times in a loop, is reported too). Bounded:
 * COUNT requests per round, ROUNDS rounds per variant, alternated so machine noise hits both alike; lines
 * go to /dev/null through the same synchronous destination a service writes stdout with.
 *
 *   npm run bench -- request-log          (BENCH_COUNT=4000, BENCH_ROUNDS=5 by default)
 */
import { Agent, request } from 'node:http';
import express from 'express';
import { pino } from 'pino';
import { closeServer, createLogger, createMetrics, listen, requestContext, requestLog, serverPort } from '../packages/kit/src/index.js';
import { median, round as roundTo, type SuiteResult } from './support/report.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 4_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = 16;
const LINES = 20_000;

// pino's own synchronous destination, as createLogger uses for stdout (its type lacks one field of a Node stream).
const devNull = pino.destination({ dest: '/dev/null', sync: true }) as unknown as NodeJS.WritableStream;
const logger = createLogger({ service: 'bench', level: 'info', destination: devNull }).child({ instanceId: 'bench-1' });

function app(withLog: boolean) {
  const metrics = createMetrics({ service: 'bench' });
  const built = express();
  built.use(requestContext(), metrics.httpMiddleware, ...(withLog ? [requestLog(logger)] : []));
  built.get('/items/:id', (_req, res) => void res.json({ ok: true }));
  return built;
}

async function round(withLog: boolean): Promise<number> {
  const server = await listen(app(withLog), { port: 0, host: '127.0.0.1' });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const get = () => new Promise<void>((resolve, reject) => {
    request({ host: '127.0.0.1', port: serverPort(server), path: '/items/42', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject).end();
  });
  let sent = 0;
  const worker = async () => {
    while (sent < COUNT) {
      sent++;
      await get();
    }
  };
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(cpu);
  agent.destroy();
  await closeServer(server);
  return (used.user + used.system) / COUNT;
}

export async function run(): Promise<SuiteResult> {
  await round(true);
  await round(false);
  const results = { with: [] as number[], without: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    results.without.push(await round(false));
    results.with.push(await round(true));
  }
  const without = median(results.without);
  const withLog = median(results.with);
  // The line alone: the same fields through the same logger, no HTTP around it.
  const lineCpu = process.cpuUsage();
  for (let i = 0; i < LINES; i++) logger.info({ method: 'GET', route: '/items/:id', statusCode: 200, durationMs: 0.42, requestId: 'bench-request' }, 'request');
  const used = process.cpuUsage(lineCpu);
  const line = (used.user + used.system) / LINES;
  const cost = withLog - without;
  process.stdout.write(`  without requestLog ${without.toFixed(1)} µs, with ${withLog.toFixed(1)} µs, the line ${cost.toFixed(1)} µs; alone ${line.toFixed(1)} µs\n`);
  return {
    name: 'request-log',
    markdown: [
      `CPU µs per request of one process (client included), ${COUNT} requests × ${ROUNDS} rounds per variant, median.`,
      '',
      '| without requestLog | with requestLog | cost of the line | the line alone |',
      '|---|---|---|---|',
      `| ${without.toFixed(1)} | ${withLog.toFixed(1)} | ${cost.toFixed(1)} (${((cost / without) * 100).toFixed(1)} %) | ${line.toFixed(1)} |`,
    ],
    targets: [],
    data: { without: roundTo(without, 1), with: roundTo(withLog, 1), lineAlone: roundTo(line, 1) },
  };
}
