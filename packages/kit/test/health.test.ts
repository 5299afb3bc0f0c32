import express from 'express';
import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { healthRoutes } from '../src/index.js';

function appWith(state: { postgres: boolean; redis: boolean; draining: boolean }) {
  const app = express();
  app.use(healthRoutes({
    isDraining: () => state.draining,
    checkTimeoutMs: 200,
    checks: {
      postgres: { critical: true, check: () => (state.postgres ? Promise.resolve() : Promise.reject(new Error('down'))) },
      redis: { critical: false, check: () => (state.redis ? undefined : new Promise(() => undefined)) },
    },
  }));
  return app;
}

describe('health and readiness', () => {
  test('when every dependency answers, then /ready is 200 ready', async () => {
    const res = await request(appWith({ postgres: true, redis: true, draining: false })).get('/ready');
    expect(res).toMatchObject({ status: 200, body: { status: 'ready', degraded: [] } });
  });

  test('when a critical dependency fails, then /ready is 503 naming it, and /health stays 200', async () => {
    const app = appWith({ postgres: false, redis: true, draining: false });
    expect(await request(app).get('/ready')).toMatchObject({ status: 503, body: { status: 'unavailable', missing: ['postgres'] } });
    expect(await request(app).get('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  test('when a non-critical dependency hangs, then /ready answers within the check timeout as degraded', async () => {
    const started = Date.now();
    const res = await request(appWith({ postgres: true, redis: false, draining: false })).get('/ready');
    expect(res).toMatchObject({ status: 200, body: { status: 'degraded', degraded: ['redis'] } });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('when the instance is draining, then /ready is 503 draining', async () => {
    const res = await request(appWith({ postgres: true, redis: true, draining: true })).get('/ready');
    expect(res).toMatchObject({ status: 503, body: { status: 'draining' } });
  });
});
