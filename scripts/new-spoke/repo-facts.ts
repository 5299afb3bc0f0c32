import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SpokeInputError, type SpokeNames } from './spoke-names.js';

/** What the repository already uses, read from the files that declare it. */
export interface RepoFacts {
  spokeDirs: string[];
  routePrefixes: string[];
  ports: number[];
  composeServices: string[];
  databases: string[];
  variables: string[];
}

const read = (root: string, path: string) => (existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : '');
const matches = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].map((match) => match[1]!);

export function readRepoFacts(root: string): RepoFacts {
  const spokeDirs = readdirSync(join(root, 'spokes'), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => `spokes/${entry.name}`);
  const compose = (parse(read(root, 'docker-compose.yml')) ?? {}) as { services?: Record<string, { build?: { args?: Record<string, unknown> } }> };
  const services = compose.services ?? {};
  return {
    spokeDirs,
    routePrefixes: spokeDirs.flatMap((dir) => matches(read(root, `${dir}/src/service.ts`), /routePrefix:\s*'([^']+)'/g)),
    // Each service's default port (config.ts) and its port in compose: the next spoke takes the one after the highest.
    ports: [
      ...['hub-orchestrator', ...spokeDirs].flatMap((dir) => matches(read(root, `${dir}/src/config.ts`), /\bport:\s*(\d+)/g)),
      ...Object.values(services).map((service) => String(service.build?.args?.SERVICE_PORT ?? '')),
    ].filter(Boolean).map(Number),
    composeServices: Object.keys(services),
    databases: matches(read(root, 'init-scripts/01-service-databases.sh'), /^create\s+(\S+)\s/gm),
    variables: matches(read(root, '.env.example'), /^([A-Z0-9_]+)=/gm),
  };
}

/** The port after the highest one in use (hub 3000, auth 3001, user 3002, ...). */
export const nextPort = (facts: RepoFacts) => Math.max(3000, ...facts.ports) + 1;

/** Everything the new spoke would take that something already has: the first clash is the error. */
export function assertFree(names: SpokeNames, facts: RepoFacts): void {
  const clashes: [boolean, string][] = [
    [facts.spokeDirs.includes(names.dir), `${names.dir} already exists`],
    [facts.composeServices.includes(names.composeService), `docker-compose.yml already has a service ${names.composeService}`],
    [facts.routePrefixes.includes(names.prefix), `route prefix "${names.prefix}" is taken by another spoke (choose one with --prefix)`],
    [facts.databases.includes(names.snake), `init-scripts already create a database ${names.snake}`],
    [facts.variables.includes(names.passwordVariable), `.env.example already has ${names.passwordVariable}`],
    [facts.variables.includes(names.registryKeyVariable), `.env.example already has ${names.registryKeyVariable}`],
  ];
  const clash = clashes.find(([taken]) => taken);
  if (clash) throw new SpokeInputError(clash[1]);
}
