import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OPENAPI_PATH } from '@hubspoke/kit';
import { documentedErrorCodes, documentedOperations, mountedRoutes } from '@hubspoke/kit/testing';
import { startAnalyticsHarness, type AnalyticsHarness } from './support/analytics-harness.js';

let h: AnalyticsHarness;
beforeAll(async () => {
  h = await startAnalyticsHarness('analytics_api_contract');
});
afterAll(() => h?.close());

describe('the analytics spoke\'s API contract', () => {
  test('when its document is read, then it is valid OpenAPI 3.1 and lists exactly the routes the app mounts', async () => {
    const res = await request(h.app).get(OPENAPI_PATH);
    expect(res.status).toBe(200);
    expect(await new Validator().validate(res.body)).toEqual({ valid: true });
    const documented = documentedOperations(res.body).map((o) => o.route).sort();
    expect(documented).toEqual(mountedRoutes(h.app as Express).map((r) => `${r.method} ${r.path}`).sort());
  });

  test('when its document is read, then the routes it registers as public with the hub are the ones it documents as public', async () => {
    const operations = documentedOperations((await request(h.app).get(OPENAPI_PATH)).body);
    const publicOperations = operations.filter((o) => o.operation.security?.length === 0).map((o) => o.route).sort();
    expect(publicOperations).toEqual(h.publicRoutes.map((r) => `${r.method} ${r.path}`).sort());
    for (const { route, operation } of operations.filter((o) => o.operation.security?.length !== 0)) {
      expect(documentedErrorCodes(operation.responses['401']), route).toEqual(['AUTH.TOKEN_MISSING', 'AUTH.TOKEN_INVALID', 'AUTH.TOKEN_EXPIRED']);
    }
  });

  test('when its document is read, then the report routes list the range errors and the batch route its cap', async () => {
    const operations = documentedOperations((await request(h.app).get(OPENAPI_PATH)).body);
    const series = operations.find((o) => o.route === 'GET /metrics')!;
    expect(documentedErrorCodes(series.operation.responses['400'])).toEqual(expect.arrayContaining(['ANALYTICS.RANGE_TOO_LARGE', 'ANALYTICS.INVALID_RANGE', 'ANALYTICS.RANGE_NOT_RETAINED']));
    expect(documentedErrorCodes(series.operation.responses['403'])).toEqual(['AUTH.FORBIDDEN']);
    const activity = operations.find((o) => o.route === 'GET /users/me/activity')!;
    expect(documentedErrorCodes(activity.operation.responses['400'])).toContain('ANALYTICS.INVALID_CURSOR');
    expect((operations.find((o) => o.route === 'POST /events')!.operation as { description?: string }).description).toMatch(/At most 500 events and 64 kB/);
  });
});
