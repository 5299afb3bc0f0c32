import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { apiRoutes, createLogger, createMetrics, createServiceApp, defineRoute, notFound, OPENAPI_PATH } from '../src/index.js';
import { captureLogs } from '../src/testing/index.js';

const Item = z.object({ id: z.uuid(), name: z.string() });
const ID = '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e';
const noSuchItem = () => notFound('ITEM.NOT_FOUND', 'No such item');

/** One public route whose answer the test chooses, in a service app as every service builds it. */
function appAnswering(answer: unknown, validateResponses: boolean) {
  const { stream, lines } = captureLogs();
  const logger = createLogger({ service: 'api-test', level: 'info', destination: stream });
  const api = apiRoutes({
    title: 'items', version: '1', validateResponses,
    routes: [defineRoute({
      method: 'post', path: '/items/:id', public: true, summary: 'Rename an item',
      request: { params: z.object({ id: z.uuid() }), body: z.strictObject({ name: z.string().min(1) }) },
      response: { description: 'The item', body: Item },
      errors: [noSuchItem],
      handler: () => answer as z.input<typeof Item>,
    })],
  });
  const app = createServiceApp({ logger, metrics: createMetrics({ service: 'api-test' }), lifecycle: { isDraining: () => false } }, { api });
  return { app, lines };
}

describe('apiRoutes', () => {
  test('when the input does not match the route\'s schemas, then it is 400 REQUEST.VALIDATION_FAILED naming each field', async () => {
    const { app } = appAnswering({ id: ID, name: 'x' }, true);
    const res = await request(app).post('/items/nope').send({ name: '', extra: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'REQUEST.VALIDATION_FAILED', requestId: expect.any(String) });
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toEqual(['id']);
  });

  // Issue 17, finding 10: unknown keys used to come back verbatim, in the message and the details.
  test('when the body has unknown keys with markup, control characters or great length, then the 400 names them only in a bounded, sanitised form', async () => {
    const { app } = appAnswering({ id: ID, name: 'x' }, true);
    const hostile = { '<script>alert(1)</script>': 1, 'line\nbreak\t': 2, ['k'.repeat(5_000)]: 3 };
    const res = await request(app).post(`/items/${ID}`).send({ name: 'x', ...hostile });
    expect(res.status).toBe(400);
    expect(res.body.error.details.problems).toEqual([
      { field: '?script?alert?1???script?', problem: 'is not allowed' },
      { field: 'line?break?', problem: 'is not allowed' },
      { field: `${'k'.repeat(40)}…`, problem: 'is not allowed' },
    ]);
    const text = JSON.stringify(res.body);
    for (const echoed of ['<script>', 'alert(1)', '\\n', '\\t', 'k'.repeat(41)]) expect(text).not.toContain(echoed);
  });

  test('when the body has hundreds of unknown keys, then the 400 names twenty problems and says how many more', async () => {
    const { app } = appAnswering({ id: ID, name: 'x' }, true);
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`extra${i}`, i]));
    const res = await request(app).post(`/items/${ID}`).send({ name: 'x', ...many });
    expect(res.status).toBe(400);
    expect(res.body.error.details.problems).toHaveLength(20);
    expect(res.body.error.details.problems.at(-1)).toEqual({ field: 'body', problem: 'has 481 more problems' });
    expect(res.body.error.message.length).toBeLessThan(1_000);
  });

  test('when validation is on and a response does not match its schema, then it is a logged 500, never the bad body', async () => {
    const { app, lines } = appAnswering({ id: 'not-a-uuid' }, true);
    const res = await request(app).post(`/items/${ID}`).send({ name: 'x' });
    expect([res.status, res.body.error.code]).toEqual([500, 'INTERNAL']);
    expect(lines.find((l) => l.msg === 'request failed')).toMatchObject({ err: { message: expect.stringMatching(/POST \/items\/:id does not match its schema: id .*; name/) } });
  });

  test('when validation is on and a response matches, then it is sent', async () => {
    const { app } = appAnswering({ id: ID, name: 'x' }, true);
    expect((await request(app).post(`/items/${ID}`).send({ name: 'x' })).body).toEqual({ id: ID, name: 'x' });
  });

  test('when validation is off (production), then the handler\'s answer is sent as it is', async () => {
    const { app } = appAnswering({ id: 'not-a-uuid' }, false);
    expect((await request(app).post(`/items/${ID}`).send({ name: 'x' })).body).toEqual({ id: 'not-a-uuid' });
  });

  test('when a route needs a token and the API has no verifier, then it refuses to start', () => {
    expect(() => apiRoutes({ title: 't', version: '1', routes: [defineRoute({ method: 'get', path: '/me', summary: 's', response: { description: 'd', status: 204 }, handler: () => undefined })] }))
      .toThrow(/GET \/me needs a token/);
  });

  test('when the document is served, then it names the path, its parameters, the error body and every error code by status', async () => {
    const { app } = appAnswering({}, false);
    const { body } = await request(app).get(OPENAPI_PATH);
    const operation = body.paths['/items/{id}'].post;
    expect(operation.security).toEqual([]);
    expect(operation.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    const codes = (status: string) => operation.responses[status].content['application/json'].schema.properties.error.properties.code.enum;
    expect(codes('400')).toEqual(['REQUEST.VALIDATION_FAILED', 'REQUEST.MALFORMED_JSON']);
    expect(codes('404')).toEqual(['ITEM.NOT_FOUND']);
    expect(codes('413')).toEqual(['REQUEST.TOO_LARGE']);
    expect(codes('500')).toEqual(['INTERNAL']);
    expect(operation.responses['404'].content['application/json'].schema.properties.error.required).toEqual(['code', 'message']);
  });
});
