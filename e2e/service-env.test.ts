import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envReader } from '@hubspoke/kit';
import { beforeAll, describe, expect, test } from 'vitest';
import { composeConfig, REPO_ROOT, type ComposeConfig } from './support/compose.js';
import {
  composeDurationMs, composeServicesOf, dockerfileEnv, envExample, interpolated, loadConfigOf, rawCompose, readConfig,
  serviceDirs, type LoadConfig,
} from './support/service-env.js';

// Set only by tests, to keep runs that share one Redis or RabbitMQ apart; a deployment has its own.
const TEST_ONLY = ['REGISTRY_KEY_PREFIX', 'RATE_LIMIT_KEY_PREFIX', 'AMQP_PREFIX'];
// Kept out of compose on purpose: one URL for every replica of a scaled service would send all its traffic
// to one of them; compose replicas derive their own from REGISTRY_ADVERTISE_SUBNET. Tests and
// single-instance deployments outside compose set it.
const NOT_FOR_COMPOSE = ['PUBLIC_URL'];
// Retired: read only to refuse the start with a line naming what replaced it (kit service-env.ts).
const RETIRED = ['REGISTRY_SECRET'];
// Compose builds these from the topology (service names, ports, proxy hops) and other .env variables,
// e.g. DATABASE_URL from AUTH_DB_PASSWORD and each spoke's REGISTRY_KEY from its <SERVICE>_REGISTRY_KEY, so they are
// not set under their own name.
const WIRED = ['PORT', 'REDIS_URL', 'AMQP_URL', 'DATABASE_URL', 'REGISTRY_KEY', 'AUTH_JWKS_URL', 'REGISTRY_ADVERTISE_SUBNET', 'TRUSTED_PROXY_HOPS', 'RABBITMQ_MANAGEMENT_URL'];
const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.dev.yml', 'docker-compose.prod.yml', 'docker-compose.tls.yml'];
const VARIANTS = { base: [], dev: ['docker-compose.dev.yml'], prod: ['docker-compose.prod.yml'] } as const;

interface Service {
  dir: string;
  loadConfig: LoadConfig;
  /** Compose service names built from this directory. */
  composeNames: string[];
  /** Every variable loadConfig reads, with nothing set and with what compose gives it. */
  reads: Set<string>;
}

const configs = {} as Record<keyof typeof VARIANTS, ComposeConfig>;
const services: Service[] = [];
const raw = rawCompose();
const example = envExample();

beforeAll(async () => {
  for (const [variant, files] of Object.entries(VARIANTS)) {
    configs[variant as keyof typeof VARIANTS] = composeConfig('docker-compose.yml', ...files);
  }
  for (const dir of serviceDirs()) {
    const loadConfig = await loadConfigOf(dir);
    const composeNames = composeServicesOf(configs.base, dir).map(([name]) => name);
    // A second reading with compose's values reaches names read only once another is set.
    const readings = [readConfig(loadConfig), ...composeNames.map((name) => readConfig(loadConfig, configs.base.services[name]!.environment))];
    services.push({ dir, loadConfig, composeNames, reads: new Set(readings.flatMap((r) => [...r.names])) });
  }
});

describe('each service configuration, as its loadConfig reads it', () => {
  test('when the services are discovered, then the hub and every spoke are found, each read by its loadConfig', () => {
    expect(services.map((s) => s.dir)).toEqual(expect.arrayContaining(['hub-orchestrator', 'spokes/auth-service', 'spokes/user-service']));
    for (const service of services) {
      // The hub verifies registry records with the master key; each spoke signs with its own key.
      expect(service.reads, service.dir).toContain(service.dir === 'hub-orchestrator' ? 'REGISTRY_MASTER_KEY' : 'REGISTRY_KEY');
      expect(service.composeNames, `${service.dir}: no compose service builds it`).not.toEqual([]);
    }
  });

  test('when a service reads a variable, then docker-compose.yml or its image sets it', () => {
    const unset = services.flatMap((service) => service.composeNames.flatMap((name) => {
      const compose = configs.base.services[name]!;
      const image = dockerfileEnv(typeof compose.build === 'object' ? compose.build.target ?? '' : '');
      return [...service.reads]
        .filter((v) => !TEST_ONLY.includes(v) && !NOT_FOR_COMPOSE.includes(v) && !RETIRED.includes(v) && !image.has(v) && !(v in (compose.environment ?? {})))
        .map((v) => `${name} reads ${v}`);
    }));
    expect(unset).toEqual([]);
  });

  test('when compose passes a variable, then .env.example sets it under its own name (or the parts it is built from)', () => {
    const problems: string[] = [];
    for (const service of services) {
      for (const name of service.composeNames) {
        const environment = raw.services[name]?.environment ?? {};
        for (const variable of [...service.reads].filter((v) => v in environment)) {
          const value = String(environment[variable] ?? '');
          const sources = interpolated(value);
          if (!WIRED.includes(variable) && !new RegExp(`^\\$\\{${variable}(:?[-?].*)?\\}$`).test(value)) {
            problems.push(`${name}: ${variable} is "${value}", not \${${variable}...}`);
          }
          for (const source of sources) if (!example.has(source)) problems.push(`${name}: ${variable} uses ${source}, missing from .env.example`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('when the services start with .env.example values, then base and dev accept them and prod refuses only changeme- secrets', () => {
    for (const service of services) {
      for (const name of service.composeNames) {
        for (const variant of ['base', 'dev'] as const) {
          expect(readConfig(service.loadConfig, configs[variant].services[name]!.environment).error, `${variant} ${name}`).toBeUndefined();
        }
        const refused = readConfig(service.loadConfig, configs.prod.services[name]!.environment).error as { problems?: string[] };
        expect(refused?.problems, `prod ${name}`).toEqual(expect.arrayContaining([expect.stringContaining('changeme-')]));
        for (const problem of refused.problems ?? []) expect(problem, `prod ${name}`).toMatch(/changeme- placeholder/);
      }
    }
  });

  test('when compose stops a service, then its stop_grace_period outlasts its SHUTDOWN_TIMEOUT_MS, in every variant', () => {
    for (const [variant, config] of Object.entries(configs)) {
      for (const name of services.flatMap((s) => s.composeNames)) {
        const service = config.services[name]!;
        const timeoutMs = envReader(service.environment as NodeJS.ProcessEnv).durationMs('SHUTDOWN_TIMEOUT_MS');
        // Compose's default grace period is 10 s.
        expect(composeDurationMs(service.stop_grace_period ?? '10s'), `${variant} ${name}`).toBeGreaterThan(timeoutMs);
      }
    }
  });
});

describe('.env.example', () => {
  test('when read, then each variable has its own comment on the line above', () => {
    const uncommented = [...example].filter(([, entry]) => !entry.comment).map(([name]) => name);
    expect(uncommented).toEqual([]);
  });

  test('when a compose file interpolates a variable, then .env.example sets it', () => {
    const missing = COMPOSE_FILES.flatMap((file) =>
      interpolated(readFileSync(join(REPO_ROOT, file), 'utf8')).filter((name) => !example.has(name)).map((name) => `${file}: ${name}`));
    expect([...new Set(missing)]).toEqual([]);
  });
});

describe('service sources', () => {
  test('when scanned, then no service reads process.env by name (loadConfig is the one reader)', () => {
    const dirs = [...services.map((s) => `${s.dir}/src`), 'packages/kit/src'];
    const direct = dirs.flatMap((dir) => globSync(`${dir}/**/*.ts`, { cwd: REPO_ROOT })).filter((file) => !file.includes('/testing/')).flatMap((file) => {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8');
      return /process\.env(\.|\[)|\}\s*=\s*process\.env\b/.test(text) ? [file] : [];
    });
    expect(direct).toEqual([]);
  });
});
