import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, freePort } from '@hubspoke/kit/testing';

const TEMPLATES = fileURLToPath(new URL('../../hub-config/templates/', import.meta.url));
const TLS_TEMPLATE = fileURLToPath(new URL('../../hub-config/tls/hubspoke-tls.conf.template', import.meta.url));
const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

export interface Gateway {
  url: string;
  tlsUrl: string | undefined;
  /** The internal server with NGINX's stub_status (what nginx-exporter reads). */
  statusUrl: string;
  port: number;
  /** nginx's master process (its workers are its children). */
  pid: number;
  /** JSON access-log lines written so far. */
  accessLog: () => Promise<Record<string, unknown>[]>;
  /** Rewrites the hub servers (as the compose watcher does) and reloads nginx, resolving once new workers serve. */
  setHubs: (ports: number[]) => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * Runs Debian's nginx with the same template the gateway image renders, with local ports, so gateway
 * behaviour is tested on every run. Rendering mirrors the official image: only defined variables are
 * substituted, nginx's own `$vars` stay.
 */
export interface GatewayOptions {
  hubPorts: number[];
  maxBodySize?: string;
  /** Also serve TLS with this certificate (the optional server of docker-compose.tls.yml). */
  tls?: { cert: string; key: string };
  /** nginx's per-address limit on /api/ (GATEWAY_RATE_LIMIT, GATEWAY_RATE_LIMIT_BURST); by default far above any test's load. */
  rateLimit?: { rate: string; burst: number };
}

export async function startGateway({ hubPorts, maxBodySize = '1m', tls, rateLimit = { rate: '10000r/s', burst: 10_000 } }: GatewayOptions): Promise<Gateway> {
  const dir = await mkdtemp(join(tmpdir(), 'hubspoke-gw-'));
  await mkdir(join(dir, 'logs'));
  const port = await freePort();
  const tlsPort = tls ? await freePort() : undefined;
  const reloadProbePort = await freePort();
  const statusPort = await freePort();
  const serversFile = join(dir, 'hub-servers.conf');
  const vars: Record<string, string> = {
    HUB_SERVERS_FILE: serversFile, GATEWAY_LISTEN_PORT: `127.0.0.1:${port}`, GATEWAY_STATUS_LISTEN_PORT: `127.0.0.1:${statusPort}`,
    GATEWAY_MAX_BODY_SIZE: maxBodySize, GATEWAY_RATE_LIMIT: rateLimit.rate, GATEWAY_RATE_LIMIT_BURST: String(rateLimit.burst), GATEWAY_ACCESS_LOG: join(dir, 'logs', 'access.log'), GATEWAY_CONF_DIR: dir,
    ...(tls ? { GATEWAY_TLS_LISTEN_PORT: `127.0.0.1:${tlsPort}`, GATEWAY_TLS_CERT: tls.cert, GATEWAY_TLS_KEY: tls.key } : {}),
  };
  const render = async (template: string, output: string) =>
    writeFile(join(dir, output), (await readFile(template, 'utf8')).replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => vars[name] ?? whole));
  // Every template, as the image's template step renders them: `x.conf.template` → `x.conf`.
  for (const template of (await readdir(TEMPLATES)).filter((f) => f.endsWith('.template'))) {
    await render(join(TEMPLATES, template), template.slice(0, -'.template'.length));
  }
  if (tls) await render(TLS_TEMPLATE, 'hubspoke-tls.conf');
  const writeServers = (ports: number[]) => writeFile(serversFile, ports.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;\n`).join('') || 'server 127.0.0.1:9;\n');
  await writeServers(hubPorts);
  // A server answering with the config's generation: new connections reach it only once a reload is in force.
  let generation = 0;
  const reloadProbe = join(dir, 'reload-probe.conf');
  const writeReloadProbe = () => writeFile(reloadProbe, `server { listen 127.0.0.1:${reloadProbePort}; return 200 "${generation}"; }\n`);
  await writeReloadProbe();
  await writeFile(join(dir, 'nginx.conf'), `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 1024; }
http {
  default_type application/octet-stream;
  client_body_temp_path ${dir}/client_body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${join(dir, 'hubspoke.conf')};
  include ${reloadProbe};
  ${tls ? `include ${join(dir, 'hubspoke-tls.conf')};` : ''}
}
`);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    return (await fetch(`${url}/health`)).ok;
  }, 10_000).catch((error: unknown) => {
    throw new Error(`gateway did not start: ${String(error)} ${stderr}`);
  });
  return {
    url,
    port,
    pid: child.pid!,
    tlsUrl: tlsPort ? `https://127.0.0.1:${tlsPort}` : undefined,
    statusUrl: `http://127.0.0.1:${statusPort}`,
    accessLog: async () =>
      (await readFile(vars.GATEWAY_ACCESS_LOG!, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    setHubs: async (ports) => {
      generation += 1;
      await Promise.all([writeServers(ports), writeReloadProbe()]);
      child.kill('SIGHUP');
      await eventually(async () => (await (await fetch(`http://127.0.0.1:${reloadProbePort}/`)).text()) === String(generation));
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
