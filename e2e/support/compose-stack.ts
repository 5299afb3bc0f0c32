import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '@hubspoke/kit/testing';
import { composeCommand, REPO_ROOT } from './compose.js';

export interface Container { service: string; name: string; status: string }

export interface StackOptions {
  /** Compose files, base first. */
  files: string[];
  /** Variables for interpolation on top of .env (the shell wins over .env, as in compose). */
  env: NodeJS.ProcessEnv;
  /** The offline compose rig (these machines); otherwise the compose tool itself. */
  rig?: string;
}

/** One compose project driven as `npm run test:compose` needs it: up, wait for health, exec, down. */
export function composeStack({ files, env, rig }: StackOptions) {
  function run(command: string, args: string[]): string {
    const result = spawnSync(command, args, { cwd: REPO_ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${output.slice(-4000)}`);
    return output;
  }

  function compose(args: string[]): string {
    const [command, ...prefix] = composeCommand();
    return run(command!, [...prefix, ...files.flatMap((file) => ['-f', file]), ...args]);
  }

  const projectName = () =>
    env.COMPOSE_PROJECT_NAME ?? readFileSync(join(REPO_ROOT, '.env'), 'utf8').match(/^COMPOSE_PROJECT_NAME=(.+)$/m)?.[1] ?? 'hubspoke';

  function containers(): Container[] {
    const out = execFileSync('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${projectName()}`,
      '--format', '{{.Label "com.docker.compose.service"}}\t{{.Names}}\t{{.Status}}'], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map((line) => {
      const [service, name, status] = line.split('\t') as [string, string, string];
      return { service, name, status };
    });
  }

  return {
    containers,
    /** `up -d --build` with `extra` arguments (e.g. `--scale`); the output names services the rig dropped. */
    up: (extra: string[] = []) => (rig ? run(rig, ['up', ...files, ...(extra.length ? ['--', ...extra] : [])]) : compose(['up', '-d', '--build', ...extra])),
    down: () => (rig ? run(rig, ['down', ...files]) : compose(['down', '-v', '--remove-orphans'])),

    /** Resolves once `expect` (service → replicas) are healthy; fails fast on an exited or restarting container. */
    async waitHealthy(expect: Record<string, number>, timeoutMs: number): Promise<void> {
      let last: Container[] = [];
      const outcome = await eventually(() => {
        last = containers();
        if (last.some(stopped)) return 'a container stopped';
        const healthy = Object.entries(expect).every(([service, count]) =>
          last.filter((c) => c.service === service && /\(healthy\)/.test(c.status)).length >= count);
        return healthy && 'healthy';
      }, timeoutMs, 2000).catch(() => `not healthy within ${timeoutMs / 1000} s`);
      if (outcome === 'healthy') return;
      printLogs(last.filter(stopped));
      throw new Error(`${outcome}: ${last.map((c) => `${c.name}=${c.status}`).join(', ')}`);
    },

    /** Prints the last lines of each container of these services: what a failed check leaves to read. */
    printLogs: (services: string[]) => printLogs(containers().filter((c) => services.includes(c.service))),

    /** Runs a Node one-liner inside a container (the service images have no curl). */
    nodeIn: (container: string, script: string) => execFileSync('docker', ['exec', container, 'node', '-e', script], { encoding: 'utf8' }),
  };
}

export type ComposeStack = ReturnType<typeof composeStack>;

const stopped = (c: Container) => /^(Exited|Restarting)|unhealthy/.test(c.status);

function printLogs(list: Container[]): void {
  for (const c of list) {
    const logs = spawnSync('docker', ['logs', '--tail', '60', c.name], { encoding: 'utf8' });
    console.error(`--- logs of ${c.name} (${c.status})\n${logs.stdout}${logs.stderr}`);
  }
}
