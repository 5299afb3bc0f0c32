import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OPENAPI_PATH } from '@hubspoke/kit';
import { eventually } from '@hubspoke/kit/testing';
import { startPlatform, type Platform } from './support/platform.js';

// The hub and both spokes as processes: the reference a client reads is merged from the live spokes.
let platform: Platform;
let document: { paths: Record<string, Record<string, { security?: unknown[]; operationId?: string }>> };

beforeAll(async () => {
  platform = await startPlatform();
  // The hub fetches each spoke's document in the background once the spoke registers.
  document = await eventually(async () => {
    const res = await fetch(`${platform.url}/api/hub/openapi.json`);
    const body = (await res.json()) as typeof document;
    return res.status === 200 && body.paths['/api/auth/login'] && body.paths['/api/users/me'] ? body : undefined;
  }, 30_000, 200);
}, 120_000);

afterAll(async () => {
  await platform?.stop();
}, 30_000);

describe('the API reference at the hub', () => {
  test('when a client without a token reads /api/hub/openapi.json, then it is one valid OpenAPI 3.1 document of the hub and both spokes', async () => {
    expect(await new Validator().validate(document)).toEqual({ valid: true });
    expect(Object.keys(document.paths).sort()).toEqual([
      '/api/auth/.well-known/jwks.json', '/api/auth/email/verify', '/api/auth/email/verify/request', '/api/auth/login', '/api/auth/logout',
      '/api/auth/password/forgot', '/api/auth/password/reset', '/api/auth/refresh', '/api/auth/register',
      '/api/hub/dlq', '/api/hub/dlq/{queue}/replay', '/api/hub/docs', '/api/hub/jobs', '/api/hub/jobs/{id}', '/api/hub/jobs/{id}/events',
      '/api/hub/jobs/{id}/items', '/api/hub/jobs/{id}/retry-failed', '/api/hub/openapi.json', '/api/hub/registry',
      '/api/hub/registry/prefixes', '/api/hub/registry/prefixes/{prefix}', '/api/users', '/api/users/me', '/api/users/{id}',
    ]);
    const operationIds = Object.values(document.paths).flatMap((item) => Object.values(item).map((o) => o.operationId));
    expect(new Set(operationIds).size).toBe(operationIds.length);
  });

  test('when the document is read, then public routes need no token and every other one a bearer token', () => {
    expect(document.paths['/api/auth/login']!.post!.security).toEqual([]);
    expect(document.paths['/api/auth/password/forgot']!.post!.security).toEqual([]);
    expect(document.paths['/api/auth/email/verify/request']!.post!.security).not.toEqual([]);
    expect(document.paths['/api/hub/docs']!.get!.security).toEqual([]);
    expect(document.paths['/api/users/me']!.get!.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths['/api/hub/registry']!.get!.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths['/api/hub/registry/prefixes/{prefix}']!.delete!.security).toEqual([{ bearerAuth: [] }]);
  });

  test('when the document is read, then it reveals no internal path and no instance address', () => {
    const text = JSON.stringify(document);
    // OPENAPI_PATH and METRICS_PATH are under /internal/; a spoke's own /metrics (the analytics series) is API.
    for (const internal of ['/internal/', '/health', '/ready', '127.0.0.1']) expect(text).not.toContain(internal);
  });

  test('when a client without a token opens /api/hub/docs, then it gets the page and every asset it references from the hub', async () => {
    const page = await fetch(`${platform.url}/api/hub/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, page.url));
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      expect(asset.origin, asset.href).toBe(new URL(platform.url).origin);
      expect((await fetch(asset)).status, asset.href).toBe(200);
    }
  });

  test('when a client asks for a spoke\'s own document or the registry without a token, then it is 404 and 401', async () => {
    expect((await fetch(`${platform.url}/api/auth${OPENAPI_PATH}`)).status).toBe(404);
    expect((await fetch(`${platform.url}/api/hub/registry`)).status).toBe(401);
    expect((await fetch(`${platform.url}/api/hub/docs/assets/index.html`)).status).toBe(404);
  });
});
