import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventContractFor } from '@hubspoke/contracts';
import { OPENAPI_PATH, parseEvent } from '@hubspoke/kit';
import { mountedRoutes, signTestToken } from '@hubspoke/kit/testing';
import { startNotificationHarness, type NotificationHarness } from './support/notification-harness.js';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotificationHarness('notification_api_contract');
});
afterAll(() => h?.close());

type ErrorContent = { content?: Record<string, { schema: { properties: { error: { properties: { code: { enum: string[] } } } } } }> };
type Operation = { security?: unknown[]; responses: Record<string, ErrorContent> };
const operationsOf = (document: { paths: Record<string, Record<string, Operation>> }) =>
  Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({
    route: `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`, operation,
  })));
const codesOf = (response: ErrorContent | undefined) => response?.content?.['application/json']?.schema.properties.error.properties.code.enum;

describe('the notification spoke\'s API contract', () => {
  test('when its document is read, then it is valid OpenAPI 3.1 and lists exactly the routes the app mounts', async () => {
    const res = await request(h.app).get(OPENAPI_PATH);
    expect(res.status).toBe(200);
    expect(await new Validator().validate(res.body)).toEqual({ valid: true });
    const documented = operationsOf(res.body).map((o) => o.route).sort();
    expect(documented).toEqual(mountedRoutes(h.app as Express).map((r) => `${r.method} ${r.path}`).sort());
  });

  test('when its document is read, then the routes it registers as public with the hub are the ones it documents as public', async () => {
    const operations = operationsOf((await request(h.app).get(OPENAPI_PATH)).body);
    const publicOperations = operations.filter((o) => o.operation.security?.length === 0).map((o) => o.route).sort();
    expect(publicOperations).toEqual(h.publicRoutes.map((r) => `${r.method} ${r.path}`).sort());
    for (const { route, operation } of operations.filter((o) => o.operation.security?.length !== 0)) {
      expect(codesOf(operation.responses['401']), route).toEqual(['AUTH.TOKEN_MISSING', 'AUTH.TOKEN_INVALID', 'AUTH.TOKEN_EXPIRED']);
    }
  });

  test('when its document is read, then GET /:id lists the malformed id and the missing notification, and POST / every template and recipient error', async () => {
    const operations = operationsOf((await request(h.app).get(OPENAPI_PATH)).body);
    const byId = operations.find((o) => o.route === 'GET /:id')!;
    expect(codesOf(byId.operation.responses['400'])).toContain('NOTIFICATION.INVALID_ID');
    expect(codesOf(byId.operation.responses['404'])).toEqual(['NOTIFICATION.NOT_FOUND']);
    const send = operations.find((o) => o.route === 'POST /')!;
    expect(codesOf(send.operation.responses['400'])).toEqual(expect.arrayContaining([
      'NOTIFICATION.UNKNOWN_TEMPLATE', 'NOTIFICATION.TEMPLATE_DATA_MISSING', 'NOTIFICATION.INVALID_ADDRESS', 'NOTIFICATION.NO_CONTACT',
    ]));
    expect(codesOf(send.operation.responses['403'])).toEqual(['NOTIFICATION.RECIPIENT_FORBIDDEN']);
  });

  test('when a notification is sent, then the event published has a contract and parses with it', async () => {
    const ownerId = randomUUID();
    await request(h.app).post('/contacts').set({ authorization: `Bearer ${await signTestToken(h.keys, { sub: ownerId, role: 'user' })}` })
      .send({ channel: 'push', address: 'device-token-0123456789' }).expect(201);
    const published = h.waitForPublished('notification.sent', (payload) => payload.ownerId === ownerId);
    const token = await signTestToken(h.keys, { sub: ownerId, role: 'user' });
    const { body } = await request(h.app).post('/').set({ authorization: `Bearer ${token}` })
      .send({ channel: 'push', template: 'notice', data: { title: 'Hi', message: 'Contract' } }).expect(202);
    const envelope = await published;
    const contract = eventContractFor(`${envelope.type}.v${envelope.version}`);
    expect(contract, envelope.type).toBeDefined();
    expect(parseEvent(contract!, envelope)).toEqual({ notificationId: body.id, ownerId, channel: 'push', template: 'notice', provider: 'log', attempts: 1 });
  });
});
