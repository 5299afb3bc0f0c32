import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { freePort } from '@hubspoke/kit/testing';
import { REPO_ROOT } from './support/compose.js';
import { startGateway, type Gateway } from './support/gateway.js';
import { rawHttp } from './support/raw-http.js';

// A stand-in hub: records what the gateway forwards and answers like the hub does.
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
let hub: Server;
let gateway: Gateway;

beforeAll(async () => {
  hub = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    if (req.url === '/api/hub-own-502') {
      res.writeHead(502, { 'content-type': 'application/json', 'x-request-id': String(req.headers['x-request-id']) });
      res.end(JSON.stringify({ error: { code: 'HUB.UPSTREAM_UNREACHABLE', message: 'from the hub' } }));
      return;
    }
    // Like the hub's API reference page: its own, looser policy.
    const ownPolicy = req.url === '/api/own-csp' ? { 'content-security-policy': "default-src 'self'", 'x-frame-options': 'SAMEORIGIN' } : {};
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': String(req.headers['x-request-id']), ...ownPolicy });
    res.end(JSON.stringify({ path: req.url, filler: 'x'.repeat(4000) }));
  });
  const hubPort = await freePort();
  await new Promise<void>((resolve) => hub.listen(hubPort, '127.0.0.1', resolve));
  // The same script a developer runs, pointed at a scratch folder instead of hub-config/ssl/.
  const certDir = mkdtempSync(join(tmpdir(), 'hubspoke-cert-'));
  execFileSync('bash', ['hub-config/ssl/make-dev-cert.sh', certDir], { cwd: REPO_ROOT, stdio: 'ignore' });
  gateway = await startGateway({ hubPorts: [hubPort], maxBodySize: '16k', tls: { cert: join(certDir, 'dev.crt'), key: join(certDir, 'dev.key') } });
});

afterAll(async () => {
  await gateway.stop();
  hub.close();
});

describe('the gateway (hub-config nginx template)', () => {
  test('when /api/ is called, then it reaches the hub with a new request id, X-Real-IP and X-Forwarded-For', async () => {
    const res = await fetch(`${gateway.url}/api/users/me`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(res.status).toBe(200);
    const forwarded = seen.at(-1)!;
    expect(forwarded.url).toBe('/api/users/me');
    expect(forwarded.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get('x-request-id')).toBe(forwarded.headers['x-request-id']);
    expect(forwarded.headers['x-real-ip']).toBe('127.0.0.1');
    // The client's claim stays first; the address nginx saw is appended last, where the hub looks.
    expect(forwarded.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
  });

  test('when the client sends a plain request id, then it is kept end to end; an unsafe one is replaced', async () => {
    await fetch(`${gateway.url}/api/x`, { headers: { 'x-request-id': 'client-req-42' } });
    expect(seen.at(-1)!.headers['x-request-id']).toBe('client-req-42');
    await fetch(`${gateway.url}/api/x`, { headers: { 'x-request-id': 'bad id"}' } });
    expect(seen.at(-1)!.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  test('when the response is large JSON and the client accepts gzip, then it is compressed', async () => {
    const res = await fetch(`${gateway.url}/api/big`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    // fetch decodes gzip itself: the body arriving intact proves the encoding was real.
    expect(((await res.json()) as { path: string }).path).toBe('/api/big');
  });

  test('when the body is over the size cap, then nginx answers 413 in the error shape with the request id', async () => {
    const res = await fetch(`${gateway.url}/api/auth/register`, { method: 'POST', body: 'x'.repeat(20_000), headers: { 'content-type': 'application/json', 'x-request-id': 'req-big' } });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { code: 'GATEWAY.PAYLOAD_TOO_LARGE', message: 'The request body is larger than 16k', requestId: 'req-big' } });
  });

  test('when the hub answers an error itself, then it passes through untouched', async () => {
    const res = await fetch(`${gateway.url}/api/hub-own-502`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('HUB.UPSTREAM_UNREACHABLE');
  });

  test('when no hub is reachable, then nginx answers 502 in the error shape with Retry-After', async () => {
    await gateway.setHubs([await freePort()]);
    onTestFinished(() => gateway.setHubs([(hub.address() as { port: number }).port]));
    const res = await fetch(`${gateway.url}/api/users/me`, { headers: { 'x-request-id': 'req-down' } });
    expect(res.status).toBe(502);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ error: { code: 'GATEWAY.HUB_UNREACHABLE', requestId: 'req-down' } });
  });

  test('when a path outside /api/ is asked, then it is a JSON 404; /health answers from nginx itself', async () => {
    const res = await fetch(`${gateway.url}/admin`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('GATEWAY.NOT_FOUND');
    expect(await (await fetch(`${gateway.url}/health`)).json()).toEqual({ status: 'ok' });
  });

  test('when nginx-exporter reads the status port, then it gets stub_status; clients get neither it nor the hub\'s internal paths', async () => {
    expect(await (await fetch(`${gateway.statusUrl}/stub_status`)).text()).toMatch(/^Active connections: \d+/);
    for (const path of ['/stub_status', '/internal/prometheus/targets', '/internal/metrics', '/metrics']) expect((await fetch(`${gateway.url}${path}`)).status, path).toBe(404);
  });

  test('when requests are served, then the access log has one JSON line each with the request id', async () => {
    await fetch(`${gateway.url}/api/logged`, { headers: { 'x-request-id': 'req-logged' } });
    // nginx writes the line as the request ends, which may be just after the client has the response.
    await expect.poll(() => gateway.accessLog()).toContainEqual(expect.objectContaining({ requestId: 'req-logged', uri: '/api/logged', status: 200 }));
  });

  test('when the optional TLS server is on, then /api/ works over HTTPS and the hub is told the scheme', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      httpsRequest(`${gateway.tlsUrl}/api/tls-check`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect(status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ url: '/api/tls-check', headers: { 'x-forwarded-proto': 'https' } });
  });
});

const API_HEADERS = {
  'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};
const headersOf = (headers: Headers | Record<string, string>, names: string[]) =>
  Object.fromEntries(names.map((name) => [name, headers instanceof Headers ? headers.get(name) : (headers[name] ?? null)]));
const raw = (requestLine: string, headers = '') => rawHttp(gateway.port, `${requestLine}\r\nHost: localhost\r\n${headers}Connection: close\r\n\r\n`);

describe('the gateway\'s own answers', () => {
  test.each([
    ['a NUL escape', 400, 'GET /api/%00 HTTP/1.1', 'GATEWAY.BAD_REQUEST'],
    ['a bare %', 400, 'GET /api/% HTTP/1.1', 'GATEWAY.BAD_REQUEST'],
    ['a path above the root', 400, 'GET /../../etc/passwd HTTP/1.1', 'GATEWAY.BAD_REQUEST'],
    ['an asterisk target', 400, 'GET * HTTP/1.1', 'GATEWAY.BAD_REQUEST'],
    ['no request line at all', 400, 'garbage', 'GATEWAY.BAD_REQUEST'],
    ['an overlong UTF-8 escape outside /api/', 404, 'GET /%C0%AF HTTP/1.1', 'GATEWAY.NOT_FOUND'],
    ['a 10 kB URI', 414, `GET /api/${'a'.repeat(10_000)} HTTP/1.1`, 'GATEWAY.URI_TOO_LONG'],
    ['an HTTP version nginx does not speak', 505, 'GET /api/x HTTP/3.0', 'GATEWAY.HTTP_VERSION_NOT_SUPPORTED'],
    ['a path to the error page itself', 404, 'GET /_gateway/error HTTP/1.1', 'GATEWAY.NOT_FOUND'],
  ])('when the request line holds %s, then nginx answers %i as JSON in the error shape with the security headers', async (_name, status, line, code) => {
    const res = await raw(line);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({ error: { code, message: expect.any(String), requestId: res.headers['x-request-id'] } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(headersOf(res.headers, Object.keys(API_HEADERS))).toEqual(API_HEADERS);
  });

  test('when the headers are too large or use an unknown transfer coding, then the answer is JSON too: 431 and 501', async () => {
    const big = await raw('GET /api/never-forwarded HTTP/1.1', `X-Filler: ${'a'.repeat(10_000)}\r\n`);
    expect([big.status, JSON.parse(big.body).error.code]).toEqual([431, 'GATEWAY.HEADERS_TOO_LARGE']);
    const coding = await raw('POST /api/never-forwarded HTTP/1.1', 'Transfer-Encoding: gzip\r\n');
    expect([coding.status, JSON.parse(coding.body).error.code]).toEqual([501, 'GATEWAY.NOT_IMPLEMENTED']);
    expect(seen.map((r) => r.url)).not.toContain('/api/never-forwarded');
  });

  test('when nginx answers itself or the hub sends no security headers, then nginx adds them; the hub\'s own pass through; HSTS only over TLS', async () => {
    for (const res of [await fetch(`${gateway.url}/health`), await fetch(`${gateway.url}/nothing-here`), await fetch(`${gateway.url}/api/users/me`)]) {
      expect(headersOf(res.headers, Object.keys(API_HEADERS)), res.url).toEqual(API_HEADERS);
      expect(res.headers.get('strict-transport-security'), res.url).toBeNull();
    }
    const own = await fetch(`${gateway.url}/api/own-csp`);
    expect(headersOf(own.headers, ['content-security-policy', 'x-frame-options', 'x-content-type-options'])).toEqual({
      'content-security-policy': "default-src 'self'", 'x-frame-options': 'SAMEORIGIN', 'x-content-type-options': 'nosniff',
    });
    const tls = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      httpsRequest(`${gateway.tlsUrl}/nothing-here`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.headers);
      }).on('error', reject).end();
    });
    expect(tls['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(tls['content-security-policy']).toBe(API_HEADERS['content-security-policy']);
  });
});

describe('the gateway\'s per-address limit', () => {
  test('when one address sends more than the burst to /api/, then the rest is 429 in the error shape with Retry-After and never reaches the hub', async () => {
    // One request a minute with a burst of 5: the first and five more pass, whatever the machine's speed.
    const limited = await startGateway({ hubPorts: [(hub.address() as { port: number }).port], rateLimit: { rate: '1r/m', burst: 5 } });
    onTestFinished(() => limited.stop());
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await fetch(`${limited.url}/api/limited`, { headers: { 'x-request-id': `req-limited-${i}` } })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    expect(seen.filter((r) => r.url === '/api/limited')).toHaveLength(6);

    const res = await fetch(`${limited.url}/api/limited`, { headers: { 'x-request-id': 'req-over' } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({ error: { code: 'GATEWAY.TOO_MANY_REQUESTS', message: 'Too many requests from this address, slow down', requestId: 'req-over' } });
    // Only the proxied API is limited: the healthcheck still answers.
    expect((await fetch(`${limited.url}/health`)).status).toBe(200);
  });
});
