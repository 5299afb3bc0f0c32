import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventContractFor } from '@hubspoke/contracts';
import { OPENAPI_PATH, parseEvent, type Envelope } from '@hubspoke/kit';
import { documentedOperations, mountedRoutes } from '@hubspoke/kit/testing';
import { tokenFor } from './support/tokens.js';
import { newUserId, startUserHarness, type UserHarness } from './support/user-harness.js';

let h: UserHarness;
beforeAll(async () => {
  h = await startUserHarness('user_api_contract');
});
afterAll(() => h?.close());


describe('the user spoke\'s API contract', () => {
  test('when its document is read, then it is valid OpenAPI 3.1 and lists exactly the routes the app mounts', async () => {
    const res = await request(h.app).get(OPENAPI_PATH);
    expect(res.status).toBe(200);
    expect(await new Validator().validate(res.body)).toEqual({ valid: true });
    const documented = documentedOperations(res.body).map((o) => o.route).sort();
    expect(documented).toEqual(mountedRoutes(h.app as Express).map((r) => `${r.method} ${r.path}`).sort());
  });

  test('when its document is read, then every route needs a bearer token and lists the token errors, and GET / the admin role', async () => {
    const operations = documentedOperations((await request(h.app).get(OPENAPI_PATH)).body);
    for (const { route, operation } of operations) {
      expect(operation.security, route).toEqual([{ bearerAuth: [] }]);
      expect(operation.responses['401']!.content!['application/json']!.schema.properties.error.properties.code.enum, route)
        .toEqual(['AUTH.TOKEN_MISSING', 'AUTH.TOKEN_INVALID', 'AUTH.TOKEN_EXPIRED']);
    }
    const list = operations.find((o) => o.route === 'GET /')!;
    expect(list.operation.responses['403']!.content!['application/json']!.schema.properties.error.properties.code.enum).toEqual(['AUTH.FORBIDDEN']);
    const byId = operations.find((o) => o.route === 'GET /:id')!;
    expect(byId.operation.responses['400']!.content!['application/json']!.schema.properties.error.properties.code.enum).toContain('USER.INVALID_ID');
  });

  test('when a profile is changed and deleted, then the events published have a contract and parse with it', async () => {
    const id = newUserId();
    const token = await tokenFor(h.keys, id);
    await h.register({ userId: id, email: `${id.slice(0, 8)}@example.com`, name: 'Ana', role: 'user' });
    await request(h.app).patch('/me').set({ authorization: `Bearer ${token}` }).send({ bio: 'hi', preferences: { theme: 'dark' } }).expect(200);
    const updated = await h.waitForPublished('user.updated', id);
    await request(h.app).delete(`/${id}`).set({ authorization: `Bearer ${token}` }).expect(204);
    const deleted = await h.waitForPublished('user.deleted', id);
    for (const envelope of [updated, deleted] as Envelope[]) {
      const contract = eventContractFor(`${envelope.type}.v${envelope.version}`);
      expect(contract, envelope.type).toBeDefined();
      expect(parseEvent(contract!, envelope)).toMatchObject({ userId: id });
    }
  });
});
