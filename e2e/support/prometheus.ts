import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@hubspoke/kit/testing';
import { startDaemon } from './daemon.js';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? 'prometheus';

export interface LocalPrometheus {
  url: string;
  /** `GET /api/v1/<path>` with query parameters; rejects on an error answer. */
  api: <T>(path: string, params?: Record<string, string>) => Promise<T>;
  stop: () => Promise<void>;
}

/** Debian's Prometheus on a free loopback port with the given config (YAML text) and extra flags, its data in a temporary folder. */
export async function startPrometheus(config: string, flags: string[] = []): Promise<LocalPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'hubspoke-prometheus-'));
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon({
    name: 'prometheus', command: PROMETHEUS, readyUrl: `${url}/-/ready`, dir,
    args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...flags],
  });
  return {
    url,
    async api<T>(path: string, params: Record<string, string> = {}) {
      const res = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params)}`);
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
      return body.data;
    },
    stop: daemon.stop,
  };
}
