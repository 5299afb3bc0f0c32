import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `COMPOSE_CMD` when set, else compose v2 (`docker compose`), else v1 (`docker-compose`). */
export function composeCommand(): string[] {
  if (process.env.COMPOSE_CMD) return process.env.COMPOSE_CMD.split(' ');
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    try {
      execFileSync(candidate[0]!, [...candidate.slice(1), 'version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error('no compose tool: install docker compose v2 or docker-compose (npm run setup does)');
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; target?: string; args?: Record<string, string> };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | null>;
  ports?: unknown[];
  networks?: Record<string, unknown> | string[];
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, { condition: string }>;
  logging?: { driver: string; options?: Record<string, string> };
  restart?: string;
  stop_grace_period?: string;
  init?: boolean;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  container_name?: string;
  volumes?: unknown[];
  deploy?: { resources?: { limits?: { cpus?: string | number; memory?: string | number } } };
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  networks: Record<string, { internal?: boolean } | null>;
  volumes: Record<string, unknown>;
}

/** The merged, interpolated project as the compose tool resolves it, with .env.example's values. */
export function composeConfig(...files: string[]): ComposeConfig {
  const [command, ...args] = composeCommand();
  const fileArgs = files.flatMap((f) => ['-f', f]);
  const output = execFileSync(command!, [...args, '--env-file', '.env.example', ...fileArgs, 'config'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parse(output) as ComposeConfig;
}
