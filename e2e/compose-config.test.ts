import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { deriveRegistryKey } from '@hubspoke/kit';
import { composeCommand, composeConfig, REPO_ROOT, type ComposeConfig } from './support/compose.js';
import { rawCompose } from './support/service-env.js';

// The hub and every spoke (a generated one too): the services built from this repository's Dockerfile.
const nodeServices = (config: ComposeConfig) => Object.keys(config.services).filter((name) => config.services[name]!.image?.startsWith('hubspoke/'));
// Minimal images with no shell to run a healthcheck in; Prometheus watches them instead (`up`, TargetDown).
const EXPORTERS = ['postgres-exporter', 'redis-exporter', 'nginx-exporter'];
const MONITORING = ['prometheus', 'alertmanager', 'grafana', ...EXPORTERS];
const publishing = (config: ComposeConfig) => Object.entries(config.services).filter(([, s]) => (s.ports ?? []).length > 0).map(([name]) => name);

describe('docker-compose.yml', () => {
  const config = composeConfig('docker-compose.yml');

  test('when read, then only the gateway publishes a port and nothing pins a container name', () => {
    expect(publishing(config)).toEqual(['hub-gateway']);
    expect(Object.values(config.services).filter((s) => s.container_name)).toEqual([]);
  });

  test('when read, then the gateway is published on loopback only unless GATEWAY_BIND says otherwise, and the auth spoke is told the same address', () => {
    // Compose v1 prints `127.0.0.1:8080:80/tcp`, v2 `{ host_ip: 127.0.0.1, ... }`.
    const hostIp = (port: unknown) => (typeof port === 'string' ? port.split(':')[0] : (port as { host_ip?: string }).host_ip);
    expect((config.services['hub-gateway']!.ports ?? []).map(hostIp)).toEqual(['127.0.0.1']);
    expect(config.services['spoke-auth']!.environment?.GATEWAY_BIND).toBe('127.0.0.1');
    // The default in the files themselves, for a .env that does not set GATEWAY_BIND.
    for (const file of ['docker-compose.yml', 'docker-compose.tls.yml']) {
      for (const port of rawCompose(file).services['hub-gateway']!.ports ?? []) expect(port, file).toMatch(/^\$\{GATEWAY_BIND:-127\.0\.0\.1\}:/);
    }
    expect(rawCompose().services['spoke-auth']!.environment?.GATEWAY_BIND).toBe('${GATEWAY_BIND:-127.0.0.1}');
  });

  test('when read, then every dependency waits for health, every service logs with rotation and restarts', () => {
    for (const [name, service] of Object.entries(config.services)) {
      for (const dependency of Object.values(service.depends_on ?? {})) expect(dependency.condition, name).toBe('service_healthy');
      expect(service.logging?.options, name).toMatchObject({ 'max-size': expect.any(String), 'max-file': expect.any(String) });
      expect(service.restart, name).toBe('unless-stopped');
    }
  });

  test('when read, then images are pinned and non-node services have healthchecks (node images carry a HEALTHCHECK)', () => {
    for (const [name, service] of Object.entries(config.services)) {
      if (nodeServices(config).includes(name)) {
        expect(service.init, name).toBe(true);
        continue;
      }
      expect(service.image, name).toMatch(/:v?\d+\.\d+/);
      if (!EXPORTERS.includes(name)) expect(service.healthcheck?.test, name).toBeDefined();
    }
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*CMD \["node", "-e"/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main.js"\]$/m);
  });

  test('when read, then the data and hub networks are internal, spokes sit on hub and data only, and only notification has egress', () => {
    expect(config.networks.data).toMatchObject({ internal: true });
    expect(config.networks.hub).toMatchObject({ internal: true });
    expect(config.networks.egress?.internal).toBeFalsy();
    expect(nodeServices(config)).toEqual(expect.arrayContaining(['hub-orchestrator', 'spoke-auth', 'spoke-user', 'spoke-notification']));
    for (const name of nodeServices(config)) {
      expect(Object.keys(config.services[name]!.networks ?? {}).sort(), name).toEqual(name === 'spoke-notification' ? ['data', 'egress', 'hub'] : ['data', 'hub']);
    }
    expect(Object.keys(config.services['hub-gateway']!.networks ?? {}).sort()).toEqual(['edge', 'hub']);
  });

  test('when read, then each service connects to RabbitMQ and Redis as its own user, with its own password', () => {
    const urls = nodeServices(config).map((name) => {
      const environment = config.services[name]!.environment ?? {};
      const user = name === 'hub-orchestrator' ? 'hub' : name.replace(/^spoke-/, '');
      const [amqp, redis] = [new URL(String(environment.AMQP_URL)), new URL(String(environment.REDIS_URL))];
      expect([amqp.username, redis.username], name).toEqual([user, user]);
      expect(amqp.password, name).toBe(`changeme-${user}-rabbitmq-password`);
      expect(redis.password, name).toBe(`changeme-${user}-redis-password`);
      return [amqp.password, redis.password];
    }).flat();
    expect(new Set(urls).size).toBe(urls.length);
    expect(new URL(String(config.services['hub-orchestrator']!.environment?.RABBITMQ_MANAGEMENT_URL)).username).toBe('hub');
  });

  test('when read, then no secret is on a command line: no command, entrypoint or healthcheck holds a password', () => {
    const secrets = [...readFileSync(join(REPO_ROOT, '.env.example'), 'utf8').matchAll(/^[A-Z0-9_]+=(changeme-\S+)$/gm)].map(([, value]) => value!);
    expect(secrets.length).toBeGreaterThan(10);
    for (const [name, service] of Object.entries(config.services)) {
      const argv = JSON.stringify([service.command ?? [], service.entrypoint ?? [], service.healthcheck?.test ?? []]);
      for (const secret of secrets) expect(argv.includes(secret), `${name} has ${secret} in its argv`).toBe(false);
    }
    // Redis and RabbitMQ render their users from templates at start, with passwords from the environment.
    expect(config.services.redis!.entrypoint).toEqual(expect.arrayContaining(['/etc/hubspoke/render-secrets.sh', 'sha256']));
    expect(config.services.rabbitmq!.entrypoint).toEqual(expect.arrayContaining(['/etc/hubspoke/render-secrets.sh', 'json']));
    expect(config.services.redis!.environment).toMatchObject({ HUB_REDIS_PASSWORD: 'changeme-hub-redis-password', AUTH_REDIS_PASSWORD: 'changeme-auth-redis-password' });
    expect(config.services.rabbitmq!.environment).toMatchObject({ HUB_RABBITMQ_PASSWORD: 'changeme-hub-rabbitmq-password', USER_RABBITMQ_PASSWORD: 'changeme-user-rabbitmq-password' });
  });
});

describe('monitoring in docker-compose.yml', () => {
  const config = composeConfig('docker-compose.yml');
  const scrapeConfig = parse(readFileSync(join(REPO_ROOT, 'monitoring/prometheus.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[]; http_sd_configs?: { url: string }[]; dns_sd_configs?: { names: string[] }[] }[];
  };
  const targets = scrapeConfig.scrape_configs.flatMap((job) => (job.static_configs ?? []).flatMap((group) => group.targets));

  test('when read, then Prometheus, Alertmanager, Grafana and one exporter per data service run, and Prometheus scrapes each', () => {
    expect(Object.keys(config.services)).toEqual(expect.arrayContaining(['prometheus', 'alertmanager', 'grafana', ...EXPORTERS]));
    expect(targets).toEqual(expect.arrayContaining(['rabbitmq:15692', 'postgres-exporter:9187', 'redis-exporter:9121', 'nginx-exporter:9113', 'alertmanager:9093', 'localhost:9090']));
    expect(config.services['nginx-exporter']!.command).toEqual(['--nginx.scrape-uri=http://hub-gateway:8081/stub_status']);
    expect(config.services['hub-gateway']!.environment?.GATEWAY_STATUS_LISTEN_PORT).toBe('8081');
  });

  test('when read, then spokes are found through the hub and hub replicas through DNS, with no job per spoke', () => {
    const jobs = scrapeConfig.scrape_configs;
    expect(jobs.find((job) => job.job_name === 'spokes')?.http_sd_configs).toEqual([expect.objectContaining({ url: 'http://hub-orchestrator:3000/internal/prometheus/targets' })]);
    expect(jobs.find((job) => job.job_name === 'hub')?.dns_sd_configs?.[0]?.names).toEqual(['hub-orchestrator']);
    // The hub's discovery gives each spoke target its path (`__metrics_path__`); the hub job names its own.
    expect(jobs.find((job) => job.job_name === 'hub')?.metrics_path).toBe('/internal/metrics');
    expect(jobs.map((job) => job.job_name)).not.toEqual(expect.arrayContaining(['auth', 'user']));
  });

  test('when read, then Prometheus reaches the hub, spokes and data services, and mounts the alert rules; Grafana is provisioned from files', () => {
    expect(Object.keys(config.services.prometheus!.networks ?? {}).sort()).toEqual(['data', 'hub', 'monitoring']);
    expect(JSON.stringify(config.services.prometheus!.volumes)).toContain('/etc/prometheus/alerts.yml');
    expect(JSON.stringify(config.services.grafana!.volumes)).toContain('/etc/grafana/provisioning');
    expect(config.services.grafana!.environment).toMatchObject({ GF_SECURITY_ADMIN_PASSWORD: expect.stringMatching(/^changeme-/) });
  });

  test('when read, then Alertmanager renders its config through the entrypoint from the stack\'s SMTP relay settings, and reaches MailDev', () => {
    const alertmanager = config.services.alertmanager!;
    expect(alertmanager.entrypoint).toEqual(['/bin/sh', '/etc/alertmanager/entrypoint.sh']);
    expect(JSON.stringify(alertmanager.volumes)).toContain('/etc/alertmanager/entrypoint.sh');
    expect(alertmanager.environment).toMatchObject({
      ALERT_SMTP_SMARTHOST: 'maildev:1025', ALERT_SMTP_REQUIRE_TLS: 'false', ALERT_EMAIL_TO: expect.stringContaining('@'), ALERT_WEBHOOK_URL: '', ALERT_SLACK_WEBHOOK_URL: '',
    });
    expect(Object.keys(alertmanager.networks ?? {})).toContain('data');
    expect(Object.keys(config.services.maildev!.networks ?? {})).toContain('data');
  });

  test('when read, then exporters log in as monitoring roles, never as the superuser or the services\' own roles', () => {
    expect(config.services['postgres-exporter']!.environment?.DATA_SOURCE_NAME).toMatch(/^postgresql:\/\/monitoring:changeme-monitoring-db-password@postgres:5432\//);
    expect(config.services['redis-exporter']!.environment).toMatchObject({ REDIS_USER: 'monitoring', REDIS_PASSWORD: 'changeme-redis-monitoring-password' });
    // Redis: the monitoring user may run INFO and friends, and touch no key (e2e/redis-acl.test.ts logs in as it).
    expect(readFileSync(join(REPO_ROOT, 'data-config/redis/users.template.acl'), 'utf8')).toMatch(/^user monitoring on #\$\{REDIS_MONITORING_PASSWORD\} resetkeys resetchannels -@all \+config\|get/m);
    expect(config.services.postgres!.environment?.MONITORING_DB_PASSWORD).toBe('changeme-monitoring-db-password');
    expect(readFileSync(join(REPO_ROOT, 'init-scripts/02-monitoring-role.sh'), 'utf8')).toContain('GRANT pg_monitor TO');
  });
});

describe('.env.example registry credentials', () => {
  test('when read, then every spoke key is the one `npm run registry:key` derives from the example master key', () => {
    const example = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
    const master = /^REGISTRY_MASTER_KEY=(.+)$/m.exec(example)?.[1] ?? '';
    const keys = [...example.matchAll(/^([A-Z0-9_]+)_REGISTRY_KEY=(.+)$/gm)];
    expect(keys.map(([, service]) => service)).toEqual(expect.arrayContaining(['AUTH', 'USER', 'NOTIFICATION', 'ANALYTICS']));
    for (const [, service, key] of keys) expect(key, service).toBe(deriveRegistryKey(master, service!.toLowerCase().replaceAll('_', '-')));
  });
});

describe('docker-compose.prod.yml over the base', () => {
  const config = composeConfig('docker-compose.yml', 'docker-compose.prod.yml');

  test('when merged, then node services run in production mode, read-only, without capabilities, within limits', () => {
    for (const name of nodeServices(config)) {
      const service = config.services[name]!;
      expect(service.environment?.HUBSPOKE_PRODUCTION, name).toBe('true');
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(['ALL']);
      expect(service.security_opt, name).toContain('no-new-privileges:true');
      expect(service.deploy?.resources?.limits, name).toMatchObject({ cpus: expect.anything(), memory: expect.anything() });
      expect(service.environment?.[name === 'hub-orchestrator' ? 'REGISTRY_MASTER_KEY' : 'REGISTRY_KEY'], name).toBeTruthy();
    }
  });

  test('when merged, then still only the gateway is published', () => {
    expect(publishing(config)).toEqual(['hub-gateway']);
  });
});

describe('monitoring in docker-compose.prod.yml over the base', () => {
  const config = composeConfig('docker-compose.yml', 'docker-compose.prod.yml');
  /** Grafana's entrypoint as its container runs it (compose's `$$` is a `$`), with that admin password. */
  const grafanaStart = (password: string) => {
    const [shell, flag, script, name] = config.services.grafana!.entrypoint as string[];
    expect([shell, flag]).toEqual(['/bin/sh', '-c']);
    return spawnSync('sh', [flag!, script!.replaceAll('$$', '$'), name!], { env: { PATH: process.env.PATH, GF_SECURITY_ADMIN_PASSWORD: password }, encoding: 'utf8' });
  };

  test('when merged, then Prometheus, Alertmanager, Grafana and the exporters run read-only, without capabilities or privilege escalation, within limits, unpublished', () => {
    for (const name of MONITORING) {
      const service = config.services[name]!;
      expect(service.read_only, name).toBe(true);
      expect(service.tmpfs, name).toContain('/tmp');
      expect(service.cap_drop, name).toEqual(['ALL']);
      expect(service.security_opt, name).toContain('no-new-privileges:true');
      expect(service.deploy?.resources?.limits, name).toMatchObject({ cpus: expect.anything(), memory: expect.anything() });
      expect(service.ports ?? [], name).toEqual([]);
    }
    expect(config.services.grafana!.environment).toMatchObject({ GF_LOG_MODE: 'console' });
  });

  test('when the Grafana admin password is the .env.example placeholder or empty, then Grafana refuses to start, naming the variable', () => {
    for (const password of ['changeme-grafana-admin-password', '']) {
      const refused = grafanaStart(password);
      expect(refused.status, password).toBe(1);
      expect(refused.stderr).toContain('grafana: GRAFANA_ADMIN_PASSWORD is empty or still a changeme- placeholder');
    }
  });

  test('when the Grafana admin password is a real one, then the entrypoint goes on to start Grafana (/run.sh)', () => {
    const started = grafanaStart('a-real-grafana-password-4821');
    // No Grafana image here: getting as far as exec-ing its /run.sh is what the check lets through.
    expect(started.stderr).not.toContain('placeholder');
    expect(started.stderr).toMatch(/\/run\.sh/);
    expect(started.status).toBe(127);
  });

  test('when GRAFANA_ADMIN_PASSWORD is empty, then compose refuses the production stack, naming it', () => {
    const [command, ...args] = composeCommand();
    const result = spawnSync(command!, [...args, '--env-file', '.env.example', '-f', 'docker-compose.yml', '-f', 'docker-compose.prod.yml', 'config', '-q'], {
      cwd: REPO_ROOT, env: { ...process.env, GRAFANA_ADMIN_PASSWORD: '' }, encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('GRAFANA_ADMIN_PASSWORD is required');
  });
});

describe('docker-compose.dev.yml over the base', () => {
  const config = composeConfig('docker-compose.yml', 'docker-compose.dev.yml');
  const base = composeConfig('docker-compose.yml');

  test('when merged, then node services build the dev stage, with their own tags, over their mounted sources', () => {
    for (const name of nodeServices(config)) {
      expect(config.services[name]!.build, name).toMatchObject({ target: 'dev', args: { SERVICE_DIR: expect.any(String) } });
      expect(config.services[name]!.image, name).not.toBe(base.services[name]!.image);
      expect(JSON.stringify(config.services[name]!.volumes), name).toContain('/app/packages/kit/src');
    }
  });

  test('when the dev stage is read, then it runs the sources with reload and inherits the HEALTHCHECK depends_on waits for', () => {
    const stages = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').split(/^(?=FROM )/m);
    const stage = (name: string) => stages.find((text) => new RegExp(`^FROM \\S+ AS ${name}\n`).test(text)) ?? '';
    expect(stage('dev')).toMatch(/^FROM build AS dev\n/);
    expect(stage('dev')).toMatch(/^CMD \[.*"--watch", "src\/main.ts"\]$/m);
    // dev comes FROM build FROM deps FROM base, as service comes FROM base: both carry base's HEALTHCHECK.
    expect(stage('build')).toMatch(/^FROM deps AS build\n/);
    expect(stage('deps')).toMatch(/^FROM base AS deps\n/);
    expect(stage('service')).toMatch(/^FROM base AS service\n/);
    expect(stage('base')).toMatch(/^HEALTHCHECK /m);
  });

  test('when merged, then admin UIs and data ports bind to loopback only, never on the host services\' ports', () => {
    const published = JSON.stringify(['postgres', 'redis', 'rabbitmq', 'prometheus', 'alertmanager', 'grafana'].map((n) => config.services[n]!.ports));
    expect(published).not.toMatch(/"published":"?(5432|6379|5672)"?/);
    expect(published).toContain('127.0.0.1');
  });
});

describe('docker-compose.tls.yml over the base', () => {
  test('when merged, then the gateway also serves TLS with the mounted certificate, and is still the only one published', () => {
    const config = composeConfig('docker-compose.yml', 'docker-compose.tls.yml');
    const gateway = config.services['hub-gateway']!;
    expect(gateway.ports).toHaveLength(2);
    expect(JSON.stringify(gateway.volumes)).toContain('/etc/nginx/ssl');
    expect(gateway.environment).toMatchObject({ GATEWAY_TLS_CERT: '/etc/nginx/ssl/dev.crt', GATEWAY_CONF_DIR: '/etc/nginx/conf.d' });
    expect(publishing(config)).toEqual(['hub-gateway']);
  });
});

describe('.env.example', () => {
  test('when read, then every secret holds a changeme- placeholder a production start refuses', () => {
    const secrets = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8').split('\n')
      .filter((line) => /^[A-Z0-9_]*(PASSWORD|SECRET)=/.test(line));
    expect(secrets.length).toBeGreaterThanOrEqual(6);
    for (const line of secrets) expect(line.split('=')[1], line).toMatch(/^changeme-/);
  });
});
