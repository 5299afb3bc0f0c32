import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, freePort } from '../../packages/kit/src/testing/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BenchProcess {
  name: string;
  pid: number;
  port: number;
  url: string;
  stop: () => Promise<void>;
}

// `BENCH_CPU_PROF=hub,spoke`: those processes write a V8 CPU profile here when they stop (open it in Chrome DevTools).
const PROFILED = new Set((process.env.BENCH_CPU_PROF ?? '').split(',').filter(Boolean));
const PROFILES = `${ROOT}bench/results/profiles`;

/**
 * A compiled entry point (dist/, as the images run it) on Node 24 in its own process. Its stdout, the
 * JSON request log, goes to /dev/null as fast as a log driver takes it; stderr is kept for start failures.
 * `kind` is what BENCH_CPU_PROF selects it by; `entry` is relative to the repository root, or absolute (BENCH_COMPARE_HUBS).
 */
export async function startCompiled(name: string, kind: string, entry: string, env: Record<string, string>, ready: (url: string) => Promise<boolean>): Promise<BenchProcess> {
  const port = await freePort();
  const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
  const profile = PROFILED.has(kind) ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`, `--cpu-prof-name=${kind}-${port}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...profile, resolvePath(ROOT, entry)], {
    cwd: ROOT, env: { ...inherited, ...env, PORT: String(port) }, stdio: ['ignore', openSync('/dev/null', 'w'), 'pipe'],
  });
  return watch(name, child, port, ready);
}

/** Any script on Node 24 (the raw node:http ceiling): `node -e <source>`. */
export async function startScript(name: string, source: string, env: Record<string, string>, ready: (url: string) => Promise<boolean>): Promise<BenchProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', source], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  return watch(name, child, port, ready);
}

async function watch(name: string, child: ChildProcess, port: number, ready: (url: string) => Promise<boolean>): Promise<BenchProcess> {
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
      return ready(url);
    }, 60_000, 200);
  } catch (error) {
    await stop();
    throw new Error(`${name} did not start: ${String(error)}\n${stderr}`);
  }
  return { name, pid: child.pid!, port, url, stop };
}
