import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readResults, resultsTable, RESULTS_FILE } from './figures.js';

/** The chaos project's global setup: a fresh results file per run, and the table printed once every case has run. */
export default function setup() {
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ startedAt: new Date().toISOString(), rows: [] }, null, 2)}\n`);
  return () => {
    const results = readResults();
    console.warn(`\nChaos and attack figures (${RESULTS_FILE}):\n${results?.rows.length ? resultsTable(results) : 'no case wrote a row: none ran'}\n`);
  };
}
