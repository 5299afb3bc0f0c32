import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('../results/latest.json', import.meta.url));
const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** A ratio the issue sets a goal for, as measured in this run. */
export interface Target {
  what: string;
  value: number;
  goal: string;
  met: boolean;
  /** What holds the figure back on this machine, when the goal is missed. */
  limit?: string;
}

export interface SuiteResult {
  /** The name `npm run bench -- <name>` selects it by. */
  name: string;
  /** The markdown table (and notes) the README shows for the suite. */
  markdown: string[];
  targets: Target[];
  /** Everything measured, for results/latest.json. */
  data: unknown;
  /** Only some of the suite ran (a comparison): printed, not saved over the last full run. */
  partial?: boolean;
}

export const ratio = (value: number, of: number) => (of > 0 ? Math.round((value / of) * 100) / 100 : 0);
export const median = (values: number[]) => (values.length === 0 ? 0 : [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!);
export const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits;

export function printTargets(targets: Target[]): void {
  for (const target of targets) {
    process.stdout.write(`  ${target.met ? 'met   ' : 'MISSED'} ${target.what}: ${target.value} (target ${target.goal})${target.limit && !target.met ? ` — ${target.limit}` : ''}\n`);
  }
}

function targetTable(targets: Target[]): string[] {
  if (targets.length === 0) return [];
  return [
    '', '| target | this run | goal | met | what limits it |', '|---|---|---|---|---|',
    ...targets.map((t) => `| ${t.what} | ${t.value} | ${t.goal} | ${t.met ? 'yes' : 'no'} | ${t.met ? '' : t.limit ?? ''} |`),
  ];
}

/**
 * Merges the suites of this run into results/latest.json (suites not run keep their last figures) and
 * rewrites each suite's section of bench/README.md between its markers.
 */
export async function saveResults(suites: SuiteResult[]): Promise<void> {
  const previous = JSON.parse(await readFile(RESULTS, 'utf8').catch(() => '{"suites":{}}')) as { suites: Record<string, unknown> };
  const run = { node: process.version, cpus: cpus().length, loadAverageAtEnd: loadavg().map((n) => round(n, 1)), finishedAt: new Date().toISOString() };
  for (const suite of suites) previous.suites[suite.name] = { run, targets: suite.targets, data: suite.data };
  await writeFile(RESULTS, `${JSON.stringify(previous, null, 2)}\n`);
  let readme = await readFile(README, 'utf8');
  for (const suite of suites) {
    const start = `<!-- bench:${suite.name} -->`;
    const end = `<!-- /bench:${suite.name} -->`;
    const section = [start, `_Last run: ${run.finishedAt}, Node ${run.node}, ${run.cpus} CPUs, load average ${run.loadAverageAtEnd.join(' / ')} at the end._`, '',
      ...suite.markdown, ...targetTable(suite.targets), end].join('\n');
    const at = readme.indexOf(start);
    const after = readme.indexOf(end);
    readme = at === -1 || after === -1 ? `${readme.trimEnd()}\n\n${section}\n` : readme.slice(0, at) + section + readme.slice(after + end.length);
  }
  await writeFile(README, readme);
}
