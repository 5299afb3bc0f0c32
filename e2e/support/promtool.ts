import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './compose.js';

/** Debian's promtool (scripts/services.sh installs the prometheus package); PROMTOOL_BIN overrides. */
export const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';

/** Runs promtool from the repository root; resolves with its exit code and everything it printed. */
export function promtool(...args: string[]): { code: number | null; output: string } {
  const result = spawnSync(PROMTOOL, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}
