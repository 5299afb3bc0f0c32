import { globSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, type ComposeConfig, type ComposeService } from './compose.js';

export type LoadConfig = (env: NodeJS.ProcessEnv) => unknown;

/** The hub and every spoke, found by their `src/config.ts`, so a new spoke is covered without a list. */
export function serviceDirs(): string[] {
  const spokes = globSync('spokes/*/src/config.ts', { cwd: REPO_ROOT }).map((file) => dirname(dirname(file)));
  return ['hub-orchestrator', ...spokes.sort()];
}

export async function loadConfigOf(dir: string): Promise<LoadConfig> {
  const module = (await import(join(REPO_ROOT, dir, 'src/config.ts'))) as { loadConfig?: unknown };
  if (typeof module.loadConfig !== 'function') throw new Error(`${dir}/src/config.ts does not export loadConfig`);
  return module.loadConfig as LoadConfig;
}

export interface Reading {
  names: Set<string>;
  /** What loadConfig threw (a ConfigError for a refused configuration), if anything. */
  error?: unknown;
}

/**
 * Runs loadConfig over `values` behind a Proxy that records every name looked up, so what a service reads
 * comes from the code that reads it (the kit's envReader and the readers loadConfig calls), not from a list.
 */
export function readConfig(loadConfig: LoadConfig, values: Record<string, string | null | undefined> = {}): Reading {
  const names = new Set<string>();
  const record = (key: string | symbol) => {
    if (typeof key === 'string') names.add(key);
  };
  const target: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) if (value != null) target[name] = String(value);
  const env = new Proxy(target, {
    get: (object, key) => (record(key), Reflect.get(object, key)),
    has: (object, key) => (record(key), Reflect.has(object, key)),
    getOwnPropertyDescriptor: (object, key) => (record(key), Reflect.getOwnPropertyDescriptor(object, key)),
  });
  try {
    loadConfig(env);
    return { names };
  } catch (error) {
    return { names, error };
  }
}

/** The compose services built from a service directory (`build.args.SERVICE_DIR`). */
export function composeServicesOf(config: ComposeConfig, dir: string): [string, ComposeService][] {
  return Object.entries(config.services).filter(([, service]) =>
    typeof service.build === 'object' && service.build.args?.SERVICE_DIR === dir);
}

/** The base compose file as written (anchors merged, nothing interpolated): where each value comes from. */
export function rawCompose(file = 'docker-compose.yml'): ComposeConfig {
  return parse(readFileSync(join(REPO_ROOT, file), 'utf8'), { merge: true }) as ComposeConfig;
}

/** Names in `${NAME}`, `${NAME:-default}`, … of a compose value (`$$` is a literal dollar). */
export function interpolated(text: string): string[] {
  return [...text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!);
}

/** Names the Dockerfile's `target` stage, and the stages it is built FROM, set with ENV. */
export function dockerfileEnv(target: string): Set<string> {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
  const stages = new Map<string, { from: string; env: string[] }>();
  let current: { from: string; env: string[] } | undefined;
  for (const line of text.split('\n').map((l) => l.trim())) {
    const from = /^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = { from: from[1]!, env: [] };
      if (from[2]) stages.set(from[2], current);
      continue;
    }
    const env = /^ENV\s+(.*)$/i.exec(line);
    if (env && current) current.env.push(...[...env[1]!.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!));
  }
  const names = new Set<string>();
  for (let stage = stages.get(target); stage; stage = stages.get(stage.from)) for (const name of stage.env) names.add(name);
  return names;
}

export interface EnvExampleEntry {
  value: string;
  /** The line right above, when it is a comment. */
  comment?: string;
}

/** .env.example, variable by variable. */
export function envExample(): Map<string, EnvExampleEntry> {
  const lines = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8').split('\n');
  const entries = new Map<string, EnvExampleEntry>();
  lines.forEach((line, i) => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) return;
    const above = lines[i - 1]?.trim();
    entries.set(match[1]!, { value: match[2]!, comment: above?.startsWith('#') ? above : undefined });
  });
  return entries;
}

/** A compose duration (`40s`, `1m30s`, `500ms`) in milliseconds. */
export function composeDurationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000_001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g)];
  if (parts.map((p) => p[0]).join('') !== text) throw new Error(`not a compose duration: ${text}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}
