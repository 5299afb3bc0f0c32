import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from '@hubspoke/kit/testing';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? 'prometheus';

export interface LocalPrometheus {
  url: string;
  /** `GET /api/v1/<path>` with query parameters; rejects on an error answer. */
  api: <T>(path: string, params?: Record<string, string>) => Promise<T>;
  stop: () => Promise<void>;
}

/** Debian's Prometheus on a free loopback port with the given config (YAML text), its data in a temporary folder. */
export async function startPrometheus(config: string): Promise<LocalPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'hubspoke-prometheus-'));
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
    return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok;
  }, 20_000, 100);
  return {
    url,
    async api<T>(path: string, params: Record<string, string> = {}) {
      const res = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params)}`);
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
      return body.data;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
