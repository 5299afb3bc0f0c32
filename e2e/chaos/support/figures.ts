import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

/** Where every run writes its table (the README's Reliability section shows the latest). */
export const RESULTS_FILE = fileURLToPath(new URL('../../results/chaos.json', import.meta.url));

export interface FigureRow {
  case: string;
  target: string;
  measured: string;
  pass: boolean;
}

export interface ChaosResults {
  startedAt: string;
  rows: FigureRow[];
}

/**
 * Opens the table row of the running case. The row is written when the case ends: it passes only if the measured
 * figure met its target and the case's other assertions held; a case that stopped early is a failing row saying so.
 */
export function figure(name: string, target: string) {
  const row: FigureRow = { case: name, target, measured: 'not measured: the case stopped before its measurement', pass: false };
  onTestFinished(({ task }) => {
    writeRow({ ...row, pass: row.pass && task.result?.state === 'pass' });
  });
  return {
    /** Records the figure and whether it met the target; returns that, for the case to assert. */
    measured(measured: string, pass: boolean): boolean {
      Object.assign(row, { measured, pass });
      console.warn(`chaos | ${name} | target ${target} | measured ${measured} | ${pass ? 'pass' : 'FAIL'}`);
      return pass;
    },
  };
}

function writeRow(row: FigureRow): void {
  const results = readResults() ?? { startedAt: new Date().toISOString(), rows: [] };
  results.rows = [...results.rows.filter((r) => r.case !== row.case), row];
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
}

export function readResults(): ChaosResults | undefined {
  return existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as ChaosResults) : undefined;
}

/** The results as a markdown table, for the terminal and the README. */
export function resultsTable({ rows }: ChaosResults): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return ['| case | target | measured | result |', '|---|---|---|---|',
    ...rows.map((r) => `| ${cell(r.case)} | ${cell(r.target)} | ${cell(r.measured)} | ${r.pass ? 'pass' : '**FAIL**'} |`)].join('\n');
}
