import { fileURLToPath } from 'node:url';
import { eventually, spawnService, testRedisUrl, type ServiceProcess, testRegistryKey } from '@hubspoke/kit/testing';

const ENTRY = fileURLToPath(new URL('../fixtures/example-spoke.ts', import.meta.url));

export interface SpokeOptions {
  keyPrefix: string;
  service: string;
  routePrefix?: string;
  redisUrl?: string;
  env?: Record<string, string>;
}

export interface Spoke {
  process: ServiceProcess;
  service: string;
  instanceId: string;
  url: string;
  /** When the registration was written, ms since epoch (from the spoke's own log line). */
  registeredAt: number;
  setMode: (mode: 'ok' | 'error' | 'unavailable') => Promise<void>;
  /** Requests the spoke's routes received (each upstream attempt the hub made). */
  received: () => Promise<number>;
  kill: (signal: NodeJS.Signals) => Promise<number | null>;
}

/** Starts the example spoke as its own process and resolves once it has registered. */
export async function startSpoke({ keyPrefix, service, routePrefix = service, redisUrl = testRedisUrl(), env = {} }: SpokeOptions): Promise<Spoke> {
  const child = spawnService(ENTRY, {
    REDIS_URL: redisUrl, REGISTRY_KEY: testRegistryKey(service), REGISTRY_KEY_PREFIX: keyPrefix, SERVICE: service, ROUTE_PREFIX: routePrefix, ...env,
  });
  const exitedEarly = child.exited.then((code) => Promise.reject(new Error(`${service} spoke exited with ${code} before it started`)));
  const started = await Promise.race([eventually(() => child.logs.find((line) => line.msg === 'example spoke started'), 20_000), exitedEarly])
    .catch((error: unknown) => {
      child.child.kill('SIGKILL');
      throw error;
    });
  const registered = child.logs.find((line) => line.msg === 'registry: instance registered');
  const url = `http://127.0.0.1:${String(started.port)}`;
  return {
    process: child,
    service,
    instanceId: String(started.instanceId),
    url,
    registeredAt: Date.parse(String(registered?.time ?? started.time)),
    async setMode(mode) {
      const res = await fetch(`${url}/__mode/${mode}`, { method: 'POST' });
      if (!res.ok) throw new Error(`setMode answered ${res.status}`);
    },
    async received() {
      return ((await (await fetch(`${url}/__received`)).json()) as { received: number }).received;
    },
    async kill(signal) {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill(signal);
      return child.exited;
    },
  };
}

export async function startSpokes(count: number, options: SpokeOptions): Promise<Spoke[]> {
  return Promise.all(Array.from({ length: count }, () => startSpoke(options)));
}

export async function stopAll(spokes: Spoke[]): Promise<void> {
  await Promise.all(spokes.map((spoke) => spoke.kill('SIGKILL')));
}
