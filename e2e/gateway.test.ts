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
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': String(req.headers['x-request-id']) });
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
    for (const path of ['/stub_status', '/internal/prometheus/targets', '/metrics']) expect((await fetch(`${gateway.url}${path}`)).status, path).toBe(404);
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
