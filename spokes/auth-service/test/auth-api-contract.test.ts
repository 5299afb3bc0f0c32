import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventContractFor } from '@hubspoke/contracts';
import { OPENAPI_PATH, parseEvent } from '@hubspoke/kit';
import { documentedOperations, mountedRoutes } from '@hubspoke/kit/testing';
import { PUBLIC_ROUTES } from '../src/routes/hub-record.js';
import { authFixture, PASSWORD, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;
beforeAll(async () => {
  fx = await authFixture('auth_api_contract');
});
afterAll(() => fx?.cleanup());


describe('the auth spoke\'s API contract', () => {
  test('when its document is read, then it is valid OpenAPI 3.1 and lists exactly the routes the app mounts', async () => {
    const res = await request(fx.app).get(OPENAPI_PATH);
    expect(res.status).toBe(200);
    expect(await new Validator().validate(res.body)).toEqual({ valid: true });
    const documented = documentedOperations(res.body).map((o) => o.route).sort();
    expect(documented).toEqual(mountedRoutes(fx.app as Express).map((r) => `${r.method} ${r.path}`).sort());
  });

  test('when its document is read, then the routes it registers as public with the hub are the ones it documents as public', async () => {
    const { body } = await request(fx.app).get(OPENAPI_PATH);
    const publicOperations = documentedOperations(body).filter((o) => o.operation.security?.length === 0).map((o) => o.route).sort();
    expect(publicOperations).toEqual(PUBLIC_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  test('when a register answers 409, then the document lists that code for that status', async () => {
    const { body } = await request(fx.app).get(OPENAPI_PATH);
    const conflict = body.paths['/register'].post.responses['409'];
    expect(conflict.content['application/json'].schema.properties.error.properties.code.enum).toEqual(['AUTH.EMAIL_TAKEN']);
  });

  test('when the flows run, then every event this spoke publishes has a contract and parses with it', async () => {
    const { user } = await fx.register();
    await request(fx.app).post('/login').send({ email: user.email, password: PASSWORD }).expect(200);
    await expect.poll(() => fx.events.filter((e) => e.source === 'auth' && (e.payload as { userId?: string }).userId === user.id).length, { timeout: 10_000 }).toBe(2);
    for (const envelope of fx.events.filter((e) => e.source === 'auth')) {
      const contract = eventContractFor(`${envelope.type}.v${envelope.version}`);
      expect(contract, envelope.type).toBeDefined();
      expect(() => parseEvent(contract!, envelope)).not.toThrow();
    }
  });
});
