import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@hubspoke/kit/testing';
import { REPO_ROOT } from './compose.js';
import { startDaemon } from './daemon.js';

/** Debian's Alertmanager (scripts/services.sh installs prometheus-alertmanager); ALERTMANAGER_BIN overrides. */
const ALERTMANAGER = process.env.ALERTMANAGER_BIN ?? 'prometheus-alertmanager';
const ENTRYPOINT = join(REPO_ROOT, 'monitoring/alertmanager-entrypoint.sh');

/** The entrypoint's variables: ALERTMANAGER_TEMPLATE, ALERTMANAGER_CONFIG, then the template's own. */
const entrypointEnv = (template: string, config: string, env: Record<string, string | null | undefined>) => ({
  PATH: process.env.PATH, ALERTMANAGER_TEMPLATE: template, ALERTMANAGER_CONFIG: config,
  ...Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value ?? ''])),
});

/**
 * monitoring/alertmanager.yml as the container's entrypoint renders it from `env` (`true` stands in for
 * Alertmanager, so nothing runs), and what Debian's amtool (AMTOOL_BIN overrides) says of the result.
 * Rejects with what the entrypoint said when it refuses.
 */
export async function renderAlertmanagerConfig(env: Record<string, string | null | undefined>): Promise<{ text: string; amtool: { code: number | null; output: string } }> {
  const dir = await mkdtemp(join(tmpdir(), 'hubspoke-alertmanager-'));
  const file = join(dir, 'alertmanager.yml');
  try {
    const rendered = spawnSync('sh', [ENTRYPOINT], {
      env: { ...entrypointEnv(join(REPO_ROOT, 'monitoring/alertmanager.yml'), file, env), ALERTMANAGER_BIN: 'true' }, encoding: 'utf8',
    });
    if (rendered.status !== 0) throw new Error(`alertmanager-entrypoint.sh exited ${rendered.status}: ${rendered.stderr}`);
    const checked = spawnSync(process.env.AMTOOL_BIN ?? 'amtool', ['check-config', file], { encoding: 'utf8' });
    if (checked.error) throw checked.error;
    return { text: await readFile(file, 'utf8'), amtool: { code: checked.status, output: `${checked.stdout}${checked.stderr}` } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface LocalAlertmanager {
  url: string;
  stop: () => Promise<void>;
}

/**
 * Debian's Alertmanager started through monitoring/alertmanager-entrypoint.sh (as the container starts it) on a
 * free loopback port, from `template` (the project's, possibly with shorter timings) and `env`; no cluster port.
 */
export async function startAlertmanager(template: string, env: Record<string, string>): Promise<LocalAlertmanager> {
  const dir = await mkdtemp(join(tmpdir(), 'hubspoke-alertmanager-'));
  await writeFile(join(dir, 'template.yml'), template);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon({
    name: 'alertmanager', command: 'sh', readyUrl: `${url}/-/ready`, dir,
    args: [ENTRYPOINT, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
    env: { ...entrypointEnv(join(dir, 'template.yml'), join(dir, 'alertmanager.yml'), env), ALERTMANAGER_BIN: ALERTMANAGER },
  });
  return { url, stop: daemon.stop };
}
