import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { eventually } from '@hubspoke/kit/testing';

export interface DaemonSpec {
  /** Names it in errors. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Answers 2xx once it serves. */
  readyUrl: string;
  /** Its temporary folder (config, data), removed once it has stopped. */
  dir: string;
}

/** Starts a server program (Prometheus, Alertmanager) and resolves once it is ready; rejects with its stderr if it exits first. */
export async function startDaemon({ name, command, args, env, readyUrl, dir }: DaemonSpec): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
    return (await fetch(readyUrl).catch(() => undefined))?.ok;
  }, 20_000, 100);
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
