import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { METRICS_PATH } from '@hubspoke/kit';
import { eventually, metricValue, testRedisUrl, uniquePrefix } from '@hubspoke/kit/testing';
import { UPSTREAM_DEFAULTS } from '../src/config.js';
import { PROMETHEUS_TARGETS_PATH } from '../src/discovery/prometheus-targets.js';
import { startHub, type TestHub } from './support/hub.js';
import { startSpoke, startSpokes, stopAll, type Spoke } from './support/spokes.js';

const keyPrefix = `${uniquePrefix('hub-proxy')}:`;
let hub: TestHub;
let spokes: Spoke[];

beforeAll(async () => {
  hub = await startHub({ keyPrefix });
  spokes = [
    ...(await startSpokes(3, { keyPrefix, service: 'echo' })),
    await startSpoke({ keyPrefix, service: 'auth', env: { PUBLIC_ROUTES: JSON.stringify([{ method: 'GET', path: '/open/*' }]) } }),
  ];
  await eventually(async () => (await fetch(`${hub.url}/api/auth/open/x`)).status === 200);
  await eventually(() => hub.registry.instances().filter((i) => i.service === 'echo').length === 3);
});

afterAll(async () => {
  await stopAll(spokes ?? []);
  await hub?.close();
});

/** What the example spoke echoes, the registry view, or an error body: tests read the parts they need. */
interface Body {
  instanceId: string;
  headers: Record<string, string>;
  registry: unknown;
  spokes: { service: string; instances: unknown[] }[];
}

const get = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${hub.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
};
/** fetch() resolves dot segments and drops Connection itself; this sends path and headers as written. */
const rawGet = (path: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; body: Body }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: new URL(hub.url).port, path, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Body }));
    });
    req.on('error', reject);
    req.end();
  });
const asUser = async () => ({ authorization: `Bearer ${await hub.token('user')}` });

describe('routing /api/<prefix>/*', () => {
  test('when a path is under a registered prefix, then the spoke sees it with the prefix stripped and the query kept', async () => {
    const res = await get('/api/echo/things/42?sort=asc&x=%2F', await asUser());
    expect(res).toMatchObject({ status: 200, body: { service: 'echo', path: '/things/42', url: '/things/42?sort=asc&x=%2F' } });
    expect((await get('/api/echo', await asUser())).body).toMatchObject({ path: '/' });
  });

  test('when a body larger than any JSON limit is posted, then it streams to the spoke unparsed and byte for byte', async () => {
    const body = JSON.stringify({ blob: 'x'.repeat(300_000) });
    const res = await fetch(`${hub.url}/api/echo/upload`, { method: 'POST', body, headers: { ...(await asUser()), 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ method: 'POST', path: '/upload', bodyBytes: body.length });
  });

  test('when a client streams a body without a length (chunked), then the spoke gets it whole, on a connection closed after the exchange', async () => {
    const parts = ['{"blob":"', 'y'.repeat(200_000), '"}'];
    const headers = { ...(await asUser()), 'content-type': 'application/json' };
    const echoed = await new Promise<{ status: number; body: Body & { bodyBytes: number } }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: new URL(hub.url).port, path: '/api/echo/upload', method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Body & { bodyBytes: number } }));
      });
      req.on('error', reject);
      for (const part of parts) req.write(part);
      req.end();
    });
    expect(echoed.status).toBe(200);
    expect(echoed.body.bodyBytes).toBe(parts.join('').length);
    expect(echoed.body.headers).toMatchObject({ 'transfer-encoding': 'chunked', connection: 'close' });
  });

  test('when the spoke answers before the upload is over, then the client gets that answer, not a broken connection', async () => {
    const body = Buffer.alloc(4_000_000, 'z');
    const res = await fetch(`${hub.url}/api/echo/early`, { method: 'POST', body, headers: { ...(await asUser()), 'content-type': 'application/octet-stream' } });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'TEST.TOO_LARGE' } });
    expect((await get('/api/echo/things', await asUser())).status).toBe(200);
  });

  test('when the spoke answers with far more than a socket buffer, then the client gets every byte', async () => {
    const res = await fetch(`${hub.url}/api/echo/big?bytes=20000000`, { headers: await asUser() });
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBe(20_000_000);
    expect(bytes.every((b) => b === 0x78)).toBe(true);
  });

  test('when the client sends an X-Request-Id, then the spoke receives it and the client gets it back', async () => {
    const requestId = `req-${randomUUID()}`;
    const res = await get('/api/echo/id', { ...(await asUser()), 'x-request-id': requestId });
    expect(res.body.headers['x-request-id']).toBe(requestId);
    expect(res.headers.get('x-request-id')).toBe(requestId);
  });

  test('when no request id is sent, then the hub makes one and the spoke and client see the same', async () => {
    const res = await get('/api/echo/id', await asUser());
    expect(res.headers.get('x-request-id')).toMatch(/.+/);
    expect(res.body.headers['x-request-id']).toBe(res.headers.get('x-request-id'));
  });

  test('when a request is proxied, then the spoke gets X-Forwarded-For, a deadline budget and the verified user, not client internals', async () => {
    const res = await rawGet('/api/echo/h', {
      ...(await asUser()), 'x-forwarded-for': '203.0.113.9', 'x-internal-trust': 'yes', 'x-user-id': 'forged', connection: 'keep-alive, x-hop', 'x-hop': '1',
    });
    const seen = res.body.headers as Record<string, string>;
    expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    // Three instances: a GET may be retried on another, so its budget is the attempt's, not the whole deadline.
    expect(Number(seen['x-request-deadline-ms'])).toBeGreaterThan(UPSTREAM_DEFAULTS.attemptTimeoutMs - 100);
    expect(Number(seen['x-request-deadline-ms'])).toBeLessThanOrEqual(UPSTREAM_DEFAULTS.attemptTimeoutMs);
    expect(seen).toMatchObject({ 'x-user-id': 'user-user', 'x-user-role': 'user' });
    expect(seen['authorization']).toMatch(/^Bearer /);
    expect(seen).not.toHaveProperty('x-internal-trust');
    expect(seen).not.toHaveProperty('x-hop');
  });

  test('when a spoke answers with Set-Cookie, hop-by-hop and internal headers, then the client sees none of them', async () => {
    const res = await fetch(`${hub.url}/api/echo/leaky`, { headers: await asUser() });
    expect(res.status).toBe(200);
    for (const name of ['set-cookie', 'x-internal-node', 'keep-alive', 'x-powered-by']) expect(res.headers.get(name), name).toBeNull();
    expect(res.headers.get('x-custom-public')).toBe('kept');
  });

  test('when the route is public, then no token is needed; when it is not, then a missing token is a 401 before the spoke', async () => {
    expect((await get('/api/auth/open/page')).status).toBe(200);
    expect(await get('/api/auth/closed')).toMatchObject({ status: 401, body: { error: { code: expect.stringMatching(/^AUTH\./) } } });
  });

  test('when the prefix is unknown, then it is a 404 in the error shape', async () => {
    const res = await get('/api/nobody-here/x', await asUser());
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'ROUTE.NOT_FOUND', requestId: expect.any(String) } } });
  });

  test('when a client asks for a spoke\'s probes or anything under /internal/, however spelled, then it is a 404 and the spoke is not asked', async () => {
    const headers = await asUser();
    const echoes = spokes.filter((spoke) => spoke.service === 'echo');
    const received = async () => (await Promise.all(echoes.map((spoke) => spoke.received()))).reduce((a, b) => a + b, 0);
    const before = await received();
    for (const path of [
      '/api/echo/internal/metrics', '/api/echo/INTERNAL/Metrics/', '/api/echo/%69nternal/metrics', '/api/echo/internal%2Fmetrics', '/api/echo//internal/metrics',
      '/api/echo/internal/metrics?type=x', '/api/echo/internal', '/api/echo/internal/openapi.json', '/api/echo/internal/anything', '/api/echo/health',
      '/api/echo/ready', '/api/auth/internal/metrics',
    ]) {
      const res = await rawGet(path, headers);
      expect(res.status, path).toBe(404);
      expect(res.body, path).toMatchObject({ error: { code: 'ROUTE.NOT_FOUND' } });
    }
    expect(await received()).toBe(before);
  });

  test('when a client asks for /metrics or a path that merely starts like an internal one, then it is the spoke\'s to answer', async () => {
    const headers = await asUser();
    for (const path of ['/api/echo/metrics?type=x', '/api/echo/internals', '/api/echo/metrics-report']) {
      expect(await get(path, headers), path).toMatchObject({ status: 200, body: { service: 'echo' } });
    }
    expect((await get('/api/echo/metrics?type=x', headers)).body).toMatchObject({ path: '/metrics', url: '/metrics?type=x' });
  });

  test('when a path has dot segments, then it is refused before any spoke sees it', async () => {
    for (const path of ['/api/auth/open/%2e%2e/admin', '/api/auth/open/../admin']) {
      const res = await rawGet(path);
      expect(res, path).toMatchObject({ status: 400, body: { error: { code: 'REQUEST.INVALID_PATH' } } });
    }
  });

  test('when 300 requests are spread over 3 ready instances, then each gets a fair share', async () => {
    const counts: Record<string, number> = {};
    const headers = await asUser();
    for (let batch = 0; batch < 50; batch++) {
      const results = await Promise.all(Array.from({ length: 6 }, () => get('/api/echo/balance', headers)));
      for (const { body } of results) counts[body.instanceId] = (counts[body.instanceId] ?? 0) + 1;
    }
    console.warn(`balancing over 3 instances: ${JSON.stringify(Object.values(counts))}`);
    expect(Object.keys(counts).sort()).toEqual(spokes.filter((s) => s.service === 'echo').map((s) => s.instanceId).sort());
    for (const count of Object.values(counts)) expect(count).toBeGreaterThan(60);
  });
});

describe('the registry as the hub reads it', () => {
  test('when a record without a valid signature is written to Redis by hand, then it gets no traffic', async () => {
    const redis = new Redis(testRedisUrl());
    const key = `${keyPrefix}registry:instance:rogue:rogue-1`;
    const record = {
      service: 'rogue', instanceId: 'rogue-1', url: spokes[0]!.url, routePrefix: 'rogue', version: '1', publicRoutes: [{ method: 'GET', path: '/*' }],
      routeLimits: [], taskTypes: [], tasks: [], status: 'ready', heartbeatAt: Date.now(), ttlMs: 30_000,
    };
    await redis.multi().set(key, JSON.stringify(record), 'PX', 30_000).zadd(`${keyPrefix}registry:instances`, Date.now() + 30_000, key)
      .publish(`${keyPrefix}registry:changes`, 'registered').exec();
    await eventually(() => hub.registry.state().rejected.unsigned > 0 || hub.registry.state().rejected.malformed > 0);
    expect((await get('/api/rogue/x')).status).toBe(404);
    await redis.del(key);
    redis.disconnect();
  });
});

describe('GET /api/hub/registry', () => {
  test('when an admin asks, then it lists spokes, instances, status, breaker state and in-flight counts', async () => {
    const res = await get('/api/hub/registry', { authorization: `Bearer ${await hub.token('admin')}` });
    expect(res.status).toBe(200);
    expect(res.body.registry).toMatchObject({ connected: true });
    const echo = res.body.spokes.find((s) => s.service === 'echo');
    expect(echo).toMatchObject({ prefix: 'echo', readyInstances: 3 });
    expect(echo?.instances[0]).toMatchObject({ status: 'ready', breaker: 'closed', inFlight: expect.any(Number), url: expect.any(String) });
  });

  test('when a user or nobody asks, then it is 403 or 401', async () => {
    expect((await get('/api/hub/registry', await asUser())).status).toBe(403);
    expect((await get('/api/hub/registry')).status).toBe(401);
  });
});

describe('observability', () => {
  test('when requests were proxied, then /internal/metrics has per-spoke series and /ready is ready', async () => {
    await get('/api/echo/m', await asUser());
    const text = await (await fetch(`${hub.url}${METRICS_PATH}`)).text();
    expect(text).toMatch(/hub_proxy_requests_total\{service="echo",status_code="200"\} \d+/);
    expect(text).toMatch(/hub_proxy_duration_seconds_count\{service="echo"\} \d+/);
    expect(text).toMatch(/hub_live_instances\{service="echo"\} 3/);
    expect(text).toMatch(/hub_breaker_state\{service="echo",spoke_instance="[^"]+"\} 0/);
    expect(text).toMatch(/hub_registry_down_since_seconds\{service="hub"\} 0/);
    // The generic HTTP series name the spoke's route template, not the raw path.
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/api\/echo\/\*",status_code="200",service="hub"\} \d+/);
    expect(text).not.toContain('route="/api/echo/m"');
    expect(await (await fetch(`${hub.url}/ready`)).json()).toMatchObject({ status: 'ready', degraded: [] });
    expect((await fetch(`${hub.url}/metrics`)).status).toBe(404);
  });

  test('when Prometheus asks the hub for targets, then it gets every spoke instance with service, role and instance labels and the metrics path', async () => {
    const groups = (await (await fetch(`${hub.url}${PROMETHEUS_TARGETS_PATH}`)).json()) as { targets: string[]; labels: Record<string, string> }[];
    const echoes = spokes.filter((spoke) => spoke.service === 'echo');
    expect(groups.filter((group) => group.labels.service === 'echo').sort((a, b) => a.labels.instance!.localeCompare(b.labels.instance!)))
      .toEqual(echoes.map((spoke) => ({ targets: [new URL(spoke.url).host], labels: { service: 'echo', role: 'spoke', instance: spoke.instanceId, __metrics_path__: '/internal/metrics' } }))
        .sort((a, b) => a.labels.instance.localeCompare(b.labels.instance)));
    expect(groups.map((group) => group.labels.service)).toContain('auth');
  });

  test('when a client asks for the targets under /api, then it is not found', async () => {
    const admin = { authorization: `Bearer ${await hub.token('admin')}` };
    expect((await get(`/api/hub${PROMETHEUS_TARGETS_PATH}`, admin)).status).toBe(404);
  });

  test('when an instance registers and then deregisters, then the hub counts it joining and leaving, and its instances by status', async () => {
    const blip = await startSpoke({ keyPrefix, service: 'blip' });
    await eventually(async () => (await metricValue(hub, 'hub_registry_instances{service="blip",status="ready"}')) === 1);
    expect(await metricValue(hub, 'hub_registry_changes_total{service="blip",change="joined"}')).toBe(1);
    expect(await metricValue(hub, 'hub_registry_instances{service="echo",status="ready"}')).toBe(3);
    await blip.kill('SIGTERM');
    await eventually(async () => (await metricValue(hub, 'hub_registry_changes_total{service="blip",change="left"}')) === 1);
    expect(await metricValue(hub, 'hub_registry_instances{service="blip",status="ready"}')).toBe(0);
  });
});
