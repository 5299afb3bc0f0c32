/**
 * `npm run registry:key -- <service>...` (or `--all`): prints `<SERVICE>_REGISTRY_KEY=<key>` for each spoke, its
 * registry key derived from REGISTRY_MASTER_KEY (the environment's, else the one in .env), ready to paste into
 * .env. Run it again for every spoke after changing the master key (README, "Registry credentials").
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deriveRegistryKey } from '../packages/kit/src/registry/credentials.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const USAGE = 'usage: npm run registry:key -- <service>... | --all   (REGISTRY_MASTER_KEY from the environment or .env)';
const SERVICE = /^[a-z0-9][a-z0-9-]{0,40}$/;

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { all: { type: 'boolean' } } });
  const services = values.all ? spokeServices() : positionals;
  if (services.length === 0) return fail(USAGE);
  const bad = services.find((service) => !SERVICE.test(service));
  if (bad) return fail(`"${bad}" is not a service name (the name a spoke registers under, e.g. auth, user)`);
  const master = process.env.REGISTRY_MASTER_KEY || dotEnv('REGISTRY_MASTER_KEY');
  if (!master) return fail('REGISTRY_MASTER_KEY is neither in the environment nor in .env');
  for (const service of services) process.stdout.write(`${service.replaceAll('-', '_').toUpperCase()}_REGISTRY_KEY=${deriveRegistryKey(master, service)}\n`);
  return 0;
}

/** Every spoke's service name, as its src/service.ts registers it. */
function spokeServices(): string[] {
  return readdirSync(join(ROOT, 'spokes')).flatMap((dir) => {
    const file = join(ROOT, 'spokes', dir, 'src/service.ts');
    const name = existsSync(file) ? /\bname:\s*'([a-z0-9-]+)'/.exec(readFileSync(file, 'utf8'))?.[1] : undefined;
    return name ? [name] : [];
  }).sort();
}

function dotEnv(name: string): string | undefined {
  const file = join(ROOT, '.env');
  if (!existsSync(file)) return undefined;
  return new RegExp(`^${name}=(.*)$`, 'm').exec(readFileSync(file, 'utf8'))?.[1]?.trim() || undefined;
}

function fail(message: string): number {
  console.error(`registry:key: ${message}`);
  return 1;
}

process.exitCode = main(process.argv.slice(2));
