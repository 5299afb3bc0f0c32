import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateSpoke } from './generate-spoke.js';
import { nextSteps } from './next-steps.js';
import { SpokeInputError } from './spoke-names.js';

const USAGE = 'usage: npm run new:spoke -- <name> [--prefix <route>] [--skip-install]';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `npm run new:spoke -- <name> [--prefix <route>]`: a complete spoke, wired into every shared file. */
function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { prefix: { type: 'string' }, 'skip-install': { type: 'boolean' }, help: { type: 'boolean' } } });
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (parsed.positionals.length !== 1) return fail(`expected one spoke name\n${USAGE}`);
  const [name] = parsed.positionals as [string];
  let generated;
  try {
    generated = generateSpoke(ROOT, name, parsed.values.prefix ?? name);
  } catch (error) {
    // A YAML error carries a code frame after its first line: the first line says what and where.
    return fail(error instanceof SpokeInputError ? error.message : `nothing was generated: ${(error as Error).message.split('\n')[0]}`);
  }
  const installed = !parsed.values['skip-install'] && install();
  process.stdout.write(nextSteps(generated, installed));
  return 0;
}

/** Links the new workspace and records it in package-lock.json; its dependencies are already the kit's. */
function install(): boolean {
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status === 0) return true;
  console.error('new:spoke: npm install failed; run it yourself once the cause is fixed');
  return false;
}

function fail(message: string): number {
  console.error(`new:spoke: ${message}`);
  return 1;
}

process.exitCode = main(process.argv.slice(2));
