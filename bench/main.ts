/**
 * `npm run bench` runs every suite; `npm run bench -- http jobs` only those named. Each suite starts what it
 * measures as local processes on the local Postgres, Redis and RabbitMQ (loopback only, its own databases,
 * key prefixes and queues, removed at the end), is bounded in time, prints its figures and ratios against
 * the targets, and its results land in bench/results/latest.json and bench/README.md.
 */
import { printTargets, saveResults, type SuiteResult } from './support/report.js';

const SUITES: Record<string, () => Promise<{ run: () => Promise<SuiteResult> }>> = {
  http: () => import('./http.js'),
  jobs: () => import('./jobs.js'),
  messaging: () => import('./messaging.js'),
  'request-log': () => import('./request-log.js'),
  analytics: () => import('./analytics-year-query.js'),
};

const selected = process.argv.slice(2);
const unknown = selected.filter((name) => !(name in SUITES));
if (unknown.length > 0) {
  console.error(`unknown suite ${unknown.join(', ')}; choose from ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
// Every suite is loaded before any runs, so editing a file mid-run cannot mix versions; each is saved as it ends.
const suites = await Promise.all((selected.length > 0 ? selected : Object.keys(SUITES)).map(async (name) => ({ name, suite: await SUITES[name]!() })));
for (const { name, suite } of suites) {
  process.stdout.write(`\n== ${name}\n`);
  const result = await suite.run();
  printTargets(result.targets);
  if (result.partial) continue;
  await saveResults([result]);
  process.stdout.write(`written: bench/results/latest.json, bench/README.md (${name})\n`);
}
