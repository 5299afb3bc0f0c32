import express from 'express';
import { describe, expect, test } from 'vitest';
import { createLogger, createMetrics, createServiceApp, listen, closeServer, METRICS_PATH, OPENAPI_PATH, serverPort } from '../src/index.js';
import { captureLogs } from '../src/testing/index.js';

async function withApp(level: 'info' | 'warn', run: (url: string, lines: Record<string, unknown>[]) => Promise<void>) {
  const { stream, lines } = captureLogs();
  const logger = createLogger({ service: 'probe', level, destination: stream }).child({ instanceId: 'probe-1' });
  const router = express.Router();
  router.get('/items/:id', (_req, res) => void res.json({ ok: true }));
  router.get('/metrics', (_req, res) => void res.json({ series: [] }));
  const app = createServiceApp({ logger, metrics: createMetrics({ service: 'probe' }), lifecycle: { isDraining: () => false } }, { routes: (a) => a.use(router) });
  const server = await listen(app, { port: 0, host: '127.0.0.1' });
  try {
    await run(`http://127.0.0.1:${serverPort(server)}`, lines);
  } finally {
    await closeServer(server);
  }
}

const requestLines = (lines: Record<string, unknown>[]) => lines.filter((line) => line.msg === 'request');

describe('request log', () => {
  test('when a request is served, then one line names its method, route template, status, duration, instance and request id', async () => {
    await withApp('info', async (url, lines) => {
      await fetch(`${url}/items/42`, { headers: { 'x-request-id': 'req-42' } });
      await fetch(`${url}/nowhere`);
      expect(requestLines(lines)).toEqual([
        expect.objectContaining({ level: 'info', service: 'probe', instanceId: 'probe-1', method: 'GET', route: '/items/:id', statusCode: 200, durationMs: expect.any(Number), requestId: 'req-42' }),
        expect.objectContaining({ method: 'GET', route: '<unmatched>', statusCode: 404, requestId: expect.any(String) }),
      ]);
    });
  });

  test('when probes, metrics and internal endpoints are polled, then they write no line', async () => {
    await withApp('info', async (url, lines) => {
      for (const path of ['/health', '/ready', METRICS_PATH, OPENAPI_PATH, '/internal', '/internal/anything']) await fetch(`${url}${path}`);
      expect(requestLines(lines)).toEqual([]);
    });
  });

  test('when a service serves /metrics as an API route, then it is logged like any request', async () => {
    await withApp('info', async (url, lines) => {
      await fetch(`${url}/metrics?type=x`);
      expect(requestLines(lines)).toEqual([expect.objectContaining({ method: 'GET', route: '/metrics', statusCode: 200 })]);
    });
  });

  test('when the level is above info, then requests write no line', async () => {
    await withApp('warn', async (url, lines) => {
      await fetch(`${url}/items/1`);
      expect(requestLines(lines)).toEqual([]);
    });
  });
});
