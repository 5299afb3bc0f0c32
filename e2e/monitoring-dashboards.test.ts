import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@hubspoke/kit/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from './support/compose.js';
import { SPOKES, apiClient, startPlatform, type ApiReply, type Platform, type SpokeSpec } from './support/platform.js';
import { startPrometheus, type LocalPrometheus } from './support/prometheus.js';
import { promqlNames } from './support/promql-names.js';
import { promtool } from './support/promtool.js';
import { startSmtpCatcher, type SmtpCatcher } from '../spokes/notification-service/test/support/smtp-catcher.js';

// Exported, but the journey cannot cause their events without breaking the platform: they may be empty.
const QUIET: Record<string, string> = {
  hub_shed_requests_total: 'counts only once every instance of a spoke is at its outstanding limit',
  hub_upstream_errors_total: 'counts only failed upstream attempts (refused, reset, timeout, 5xx): every spoke answers in the journey',
  hub_proxy_retries_total: 'counts only retries after a connection failure to an instance',
  hub_breaker_transitions_total: 'counts only once a breaker opens or closes again: none trips in the journey',
  hub_route_claims_refused_total: 'counts only a spoke claiming a prefix another service owns',
  hub_dlq_depth: 'read from the RabbitMQ management API, which the local platform does not give the hub (RABBITMQ_MANAGEMENT_URL)',
  ALERTS: 'made by Prometheus itself, only while an alert is pending or firing',
};
// Grafana's variables and interval as the test fills them in: the user spoke, all its instances.
const VARIABLES: Record<string, string> = { __rate_interval: '1m', service: 'user', instance: '.+' };
const DATASOURCE_UID = 'prometheus';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource: { type: string; uid: string };
  targets: { refId: string; expr: string; datasource: { uid: string } }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; datasource: { uid: string }; query: { query: string } }[] };
}
interface Query {
  where: string;
  expr: string;
  /** Alert rules return nothing while all is well: only their names are checked. */
  alert: boolean;
}

const DASHBOARD_DIR = join(REPO_ROOT, 'monitoring/grafana/dashboards');
const dashboards = readdirSync(DASHBOARD_DIR).filter((file) => file.endsWith('.json'))
  .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) as Dashboard }));
const fill = (expr: string) => expr.replace(/\$(\w+)/g, (whole, name: string) => VARIABLES[name] ?? whole);
/** `label_values(up{role=~"hub|spoke"}, service)` → its selector, which must have series. */
const variableSelector = (query: string) => /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1] ?? query;
const queries: Query[] = [
  ...dashboards.flatMap(({ file, dashboard }) => [
    ...dashboard.panels.flatMap((panel) => panel.targets.map((t) => ({ where: `${file} "${panel.title}" ${t.refId}`, expr: fill(t.expr), alert: false }))),
    ...dashboard.templating.list.map((v) => ({ where: `${file} variable ${v.name}`, expr: fill(variableSelector(v.query.query)), alert: false })),
  ]),
  ...(parse(readFileSync(join(REPO_ROOT, 'monitoring/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] })
    .groups.flatMap((group) => group.rules.map((rule) => ({ where: `alerts.yml ${rule.alert}`, expr: rule.expr, alert: true }))),
];
const histogramBase = (metric: string) => metric.replace(/_(bucket|sum|count)$/, '');

describe('Grafana dashboards (monitoring/grafana)', () => {
  test('when each dashboard is read, then it has a uid, a title, panels on the provisioned datasource, and every variable it uses', () => {
    expect(dashboards.map(({ dashboard }) => dashboard.title).sort()).toEqual(['Business', 'Jobs', 'Messaging', 'Platform overview', 'Service detail']);
    expect(new Set(dashboards.map(({ dashboard }) => dashboard.uid)).size).toBe(dashboards.length);
    for (const { file, dashboard } of dashboards) {
      expect(dashboard.panels.length, file).toBeGreaterThan(0);
      const variables = dashboard.templating.list.map((v) => v.name);
      for (const v of dashboard.templating.list) expect(v.datasource.uid, `${file} ${v.name}`).toBe(DATASOURCE_UID);
      expect(new Set(dashboard.panels.map((p) => p.id)).size, file).toBe(dashboard.panels.length);
      for (const panel of dashboard.panels) {
        const where = `${file} "${panel.title}"`;
        expect(panel.datasource.uid, where).toBe(DATASOURCE_UID);
        expect(panel.gridPos, where).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
        expect(panel.targets.length, where).toBeGreaterThan(0);
        for (const target of panel.targets) {
          expect(target.datasource.uid, where).toBe(DATASOURCE_UID);
          const used = [...target.expr.matchAll(/\$(\w+)/g)].map((m) => m[1]!).filter((name) => name !== '__rate_interval');
          expect(used.filter((name) => !variables.includes(name)), where).toEqual([]);
        }
      }
    }
    const provisioned = parse(readFileSync(join(REPO_ROOT, 'monitoring/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string }[] };
    expect(provisioned.datasources.map((d) => d.uid)).toEqual([DATASOURCE_UID]);
  });

  test('when every dashboard and alert query is handed to promtool as a rule, then each parses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hubspoke-queries-'));
    try {
      const rules = { groups: [{ name: 'queries', rules: queries.map((q, i) => ({ record: `query:${i}`, expr: q.expr })) }] };
      await writeFile(join(dir, 'queries.yml'), stringify(rules));
      const { code, output } = promtool('check', 'rules', join(dir, 'queries.yml'));
      expect(code, output).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dashboard and alert queries against Prometheus scraping the local platform', () => {
  let platform: Platform;
  let prometheus: LocalPrometheus;
  let smtp: SmtpCatcher;

  beforeAll(async () => {
    smtp = await startSmtpCatcher();
    const notification: SpokeSpec = { ...SPOKES.notification, env: () => ({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), SEND_POLL_INTERVAL_MS: '100' }) };
    platform = await startPlatform({ spokes: [SPOKES.auth, SPOKES.user, notification, SPOKES.analytics, SPOKES.tasker] });
    // As monitoring/prometheus.yml does in compose, with local addresses: the hub by address (at the metrics path that
    // file gives), spokes from its registry (each target names its own path).
    const shipped = parse(readFileSync(join(REPO_ROOT, 'monitoring/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; metrics_path?: string }[] };
    const hubMetricsPath = shipped.scrape_configs.find((job) => job.job_name === 'hub')?.metrics_path;
    prometheus = await startPrometheus(stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(REPO_ROOT, 'monitoring/alerts.yml')],
      scrape_configs: [
        { job_name: 'hub', honor_labels: true, metrics_path: hubMetricsPath, static_configs: [{ targets: [new URL(platform.url).host], labels: { service: 'hub', role: 'hub' } }] },
        { job_name: 'spokes', honor_labels: true, http_sd_configs: [{ url: `${platform.url}/internal/prometheus/targets`, refresh_interval: '1s' }] },
        // The shared test broker answers slowly under other runs' queues: more than the 1 s default.
        { job_name: 'rabbitmq', scrape_interval: '5s', scrape_timeout: '5s', static_configs: [{ targets: ['127.0.0.1:15692'], labels: { service: 'rabbitmq', role: 'infra' } }] },
        { job_name: 'rabbitmq-queues', scrape_interval: '5s', scrape_timeout: '5s', metrics_path: '/metrics/detailed', params: { family: ['queue_coarse_metrics'] },
          static_configs: [{ targets: ['127.0.0.1:15692'], labels: { service: 'rabbitmq', role: 'infra' } }] },
      ],
    }));
    await journey(platform, smtp);
  }, 150_000);

  afterAll(async () => {
    await prometheus?.stop();
    await platform?.stop();
    await smtp?.close();
  }, 30_000);

  test('when the hub serves its registry, then Prometheus scrapes the hub and every spoke with service and role labels', async () => {
    const up = async () => (await prometheus.api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>('query', { query: 'up{role=~"hub|spoke"}' })).result;
    await eventually(async () => (await up()).filter((s) => s.value[1] === '1').length === 6, 10_000, 250).catch(() => undefined);
    const { activeTargets } = await prometheus.api<{ activeTargets: { scrapeUrl: string; labels: Record<string, string> }[] }>('targets');
    const serviceTargets = activeTargets.filter((target) => ['hub', 'spoke'].includes(target.labels.role ?? ''));
    expect(serviceTargets.map((target) => new URL(target.scrapeUrl).pathname)).toEqual(serviceTargets.map(() => '/internal/metrics'));
    expect((await up()).map((s) => `${s.metric.job} ${s.metric.service} ${s.metric.role} ${s.value[1]}`).sort()).toEqual([
      'hub hub hub 1', 'spokes analytics spoke 1', 'spokes auth spoke 1', 'spokes notification spoke 1', 'spokes tasker spoke 1', 'spokes user spoke 1',
    ]);
  });

  test('when the journey has run, then every query names only exported metrics and labels and returns series where traffic was made', async () => {
    const labelsOf = async (metric: string) => new Set((await prometheus.api<Record<string, string>[]>('series', { 'match[]': metric })).flatMap((s) => Object.keys(s)));
    const problems = async () => {
      const { activeTargets } = await prometheus.api<{ activeTargets: { scrapeUrl: string; health: string; lastError: string }[] }>('targets');
      const found = activeTargets.filter((t) => t.health !== 'up').map((t) => `target ${t.scrapeUrl} is ${t.health}: ${t.lastError}`);
      const names = new Set(await prometheus.api<string[]>('label/__name__/values'));
      const metadata = await prometheus.api<Record<string, unknown>>('metadata');
      const exported = (metric: string) => names.has(metric) || metric in metadata || histogramBase(metric) in metadata;
      for (const query of queries) {
        const { metrics, labels } = promqlNames(query.expr);
        const live = metrics.filter((m) => !(m in QUIET));
        for (const metric of live) if (!exported(metric)) found.push(`${query.where}: no target exports ${metric}`);
        const known = new Set<string>();
        for (const metric of live) for (const label of await labelsOf(metric)) known.add(label);
        if (live.length > 0 && known.size > 0) {
          for (const label of labels) if (!known.has(label)) found.push(`${query.where}: no series of ${live.join(', ')} has a label ${label}`);
        }
        if (query.alert || metrics.some((m) => m in QUIET)) continue;
        const result = await prometheus.api<{ result: unknown[] }>('query', { query: query.expr });
        if (result.result.length === 0) found.push(`${query.where}: no series for ${query.expr}`);
      }
      return found;
    };
    // Rates need two scrapes after the traffic: poll until they have them.
    const remaining = await eventually(async () => {
      const found = await problems();
      return found.length === 0 ? found : undefined;
    }, 30_000, 1_000).catch(() => problems());
    expect(remaining).toEqual([]);
  }, 60_000);
});

/**
 * Traffic every panel needs: signups (the sixth from one address is rate-limited: 429) and their welcome emails,
 * logins good and bad, profiles, events, and jobs through the hub.
 */
async function journey(platform: Platform, smtp: SmtpCatcher): Promise<void> {
  const api = apiClient(() => platform.url);
  const password = 'journey-password-123';
  const emails = Array.from({ length: 6 }, () => `journey-${randomUUID().slice(0, 8)}@example.com`);
  const statuses: number[] = [];
  for (const email of emails) statuses.push((await api('POST', '/auth/register', { body: { email, password, name: 'Journey' } })).status);
  expect(statuses).toContain(201);
  expect(statuses).toContain(429);
  const login = await api('POST', '/auth/login', { body: { email: emails[0], password } });
  expect(login.status).toBe(200);
  expect((await api('POST', '/auth/login', { body: { email: emails[0], password: 'not-the-password' } })).status).toBe(401);
  const token = login.body.accessToken as string;
  // The profile exists once user.registered went through the outbox, the broker and the user spoke's consumer.
  await eventually(async () => (await api('GET', '/users/me', { token })).status === 200, 15_000, 100);
  expect((await api('PATCH', '/users/me', { token, body: { bio: 'observed' } })).status).toBe(200);
  await jobs(api, token);
  // Welcome emails went out: notification.sent reaches the analytics spoke's counters.
  await smtp.waitForCount(statuses.filter((status) => status === 201).length);
}

/**
 * One job runs to the end with retries and a throttle; a second stays paused on a long throttle, so items in
 * flight have a series while the queries run (the gauge reads only open jobs).
 */
async function jobs(api: ReturnType<typeof apiClient>, token: string): Promise<void> {
  const retry = { limit: 3, backoffMs: 50, maxBackoffMs: 200 };
  const items = [
    ...['a', 'b', 'c'].map((key) => ({ key, input: { mode: 'ok' } })),
    ...['d', 'e'].map((key) => ({ key, input: { mode: 'transient', times: 1 } })),
    { key: 'f', input: { mode: 'throttle', retryAfterMs: 200 } },
  ];
  const worked = await api('POST', '/hub/jobs', { token, body: { type: 'test.work', items, maxParallel: 2, retry } });
  expect(worked.status).toBe(202);
  const held = await api('POST', '/hub/jobs', { token, body: { type: 'test.work', items: [{ key: 'held', input: { mode: 'throttle', retryAfterMs: 60_000 } }], retry } });
  expect(held.status).toBe(202);
  const once = async (id: unknown, done: (job: ApiReply['body']) => boolean) => eventually(async () => {
    const { body } = await api('GET', `/hub/jobs/${String(id)}`, { token });
    return done(body) ? body : undefined;
  }, 20_000, 100);
  expect(await once(worked.body.id, (job) => job.status === 'succeeded')).toMatchObject({ total: 6, succeeded: 6, retries: 3 });
  expect(await once(held.body.id, (job) => job.retries === 1)).toMatchObject({ status: 'running', pending: 1 });
}
