import express from 'express';
import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { AppError, conflict, createLogger, createMetrics, errorHandler, jsonBody, METRICS_PATH, notFoundHandler, requestContext } from '../src/index.js';
import { captureLogs } from '../src/testing/index.js';

function buildApp() {
  const logs = captureLogs();
  const logger = createLogger({ service: 'demo', level: 'debug', destination: logs.stream });
  const metrics = createMetrics({ service: 'demo' });
  const seen: unknown[] = [];
  const app = express();
  app.use(requestContext(), metrics.httpMiddleware, jsonBody({ limit: '1kb', maxDepth: 8 }));
  app.use(metrics.route);
  app.post('/items', (req, res) => {
    seen.push(req.body);
    logger.info({ size: JSON.stringify(req.body).length }, 'item received');
    res.status(201).json({ received: req.body });
  });
  app.get('/items/:id', (req, res) => {
    if (req.params.id === 'taken') throw conflict('ITEM.TAKEN', 'Item is taken');
    if (req.params.id === 'boom') throw new Error('database password=hunter2 leaked in a bug');
    res.json({ id: req.params.id });
  });
  app.get('/async', async () => {
    await Promise.resolve();
    throw new AppError('ITEM.GONE', 'Item is gone', 410, { id: 'x' });
  });
  app.use(notFoundHandler(), errorHandler(logger));
  return { app, logs, seen };
}

describe('error handling and request bodies', () => {
  const { app, logs, seen } = buildApp();

  test('when a valid JSON body arrives, then the handler gets it and the log line carries the request id', async () => {
    const res = await request(app).post('/items').set('X-Request-Id', 'req-abc-1').send({ name: 'x', tags: ['a'] });
    expect(res).toMatchObject({ status: 201, body: { received: { name: 'x', tags: ['a'] } } });
    expect(res.headers['x-request-id']).toBe('req-abc-1');
    expect(logs.lines).toContainEqual(expect.objectContaining({ msg: 'item received', requestId: 'req-abc-1', service: 'demo' }));
  });

  test('when no request id is given or it is unsafe, then a fresh one is made and echoed', async () => {
    const res = await request(app).get('/items/1').set('X-Request-Id', 'bad id\twith spaces');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('when an operational error is thrown, then its status and code reach the client in the error shape', async () => {
    const res = await request(app).get('/items/taken').set('X-Request-Id', 'req-taken');
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: { code: 'ITEM.TAKEN', message: 'Item is taken', requestId: 'req-taken' } });
  });

  test('when an async handler rejects with an AppError, then details are included', async () => {
    const res = await request(app).get('/async');
    expect(res.status).toBe(410);
    expect(res.body.error).toMatchObject({ code: 'ITEM.GONE', details: { id: 'x' }, requestId: expect.any(String) });
  });

  test('when an unexpected error is thrown, then the client gets a bare 500 and the log gets the stack', async () => {
    const res = await request(app).get('/items/boom').set('X-Request-Id', 'req-boom');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'Internal error', requestId: 'req-boom' } });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    const line = logs.lines.find((l) => l.requestId === 'req-boom' && l.msg === 'request failed') as { err: { stack: string } };
    expect(line.err.stack).toContain('database password=hunter2');
  });

  test('when the route is unknown, then it is a 404 in the error shape without echoing the path', async () => {
    const res = await request(app).get('/nope/<script>');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'ROUTE.NOT_FOUND', requestId: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain('script');
  });

  test.each([
    ['malformed JSON', '{"name": ', 400, 'REQUEST.MALFORMED_JSON'],
    ['a body over the limit', JSON.stringify({ name: 'x'.repeat(2000) }), 413, 'REQUEST.TOO_LARGE'],
    ['nesting deeper than the cap', `${'['.repeat(9)}${']'.repeat(9)}`, 400, 'REQUEST.TOO_DEEP'],
    ['a million-deep array', `${'['.repeat(500)}`, 400, 'REQUEST.TOO_DEEP'],
    ['a __proto__ key', '{"a": {"__proto__": {"admin": true}}}', 400, 'REQUEST.FORBIDDEN_KEY'],
    ['a constructor key', '{"constructor": {"prototype": {}}}', 400, 'REQUEST.FORBIDDEN_KEY'],
    ['an escaped NUL in a string', '{"name": "a\\u0000b"}', 400, 'REQUEST.NUL_CHARACTER'],
    ['an escaped NUL in a key', '{"a\\u0000": 1}', 400, 'REQUEST.NUL_CHARACTER'],
  ])('when the body has %s, then it is refused with %i %s and never reaches the handler', async (_case, body, status, code) => {
    const before = seen.length;
    const res = await request(app).post('/items').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({ code, requestId: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain('admin');
    expect(seen.length).toBe(before);
  });

  test('when a string holds an escaped backslash before u0000, then it is plain text and accepted', async () => {
    const res = await request(app).post('/items').set('Content-Type', 'application/json').send('{"name": "a\\\\u0000b"}');
    expect(res.status).toBe(201);
    expect(res.body.received.name).toBe('a\\u0000b');
  });
});

describe('metrics', () => {
  test('when requests are served, then /internal/metrics counts them by route template, never by raw path', async () => {
    const { app } = buildApp();
    await request(app).get('/items/123');
    await request(app).get('/items/456');
    await request(app).get('/unknown/789');
    const res = await request(app).get(METRICS_PATH);
    expect(METRICS_PATH).toBe('/internal/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('http_requests_total{method="GET",route="/items/:id",status_code="200",service="demo"} 2');
    expect(res.text).toContain('route="<unmatched>",status_code="404"');
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{le="0.005",service="demo",method="GET",route="\/items\/:id"/);
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).not.toContain('/items/123');
  });

  test('when the request was relayed by a proxy (X-Forwarded-For), then /internal/metrics is not found: only a direct scrape reads it', async () => {
    const res = await request(app()).get(METRICS_PATH).set('X-Forwarded-For', '203.0.113.7');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'ROUTE.NOT_FOUND' } } });
    expect(res.text).not.toContain('# HELP');
  });

  test('when /metrics is asked, then the kit does not answer it: the path is free for a service\'s own API', async () => {
    const res = await request(app()).get('/metrics');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'ROUTE.NOT_FOUND' } } });
  });
});

const app = () => buildApp().app;
