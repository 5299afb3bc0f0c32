import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { createEnvelope } from '@hubspoke/kit';
import { authFixture, type AuthFixture } from './auth-fixture.js';

const ADMIN = { ADMIN_EMAIL: 'first-admin@example.com', ADMIN_PASSWORD: 'the first admin passphrase' };
let fx: AuthFixture;

beforeAll(async () => {
  fx = await authFixture('auth_first_admin', { env: ADMIN });
});
afterAll(async () => {
  await fx?.cleanup();
});

const adminLogin = (app: AuthFixture['app']) => request(app).post('/login').send({ email: ADMIN.ADMIN_EMAIL, password: ADMIN.ADMIN_PASSWORD });

describe('the first admin from ADMIN_EMAIL / ADMIN_PASSWORD', () => {
  test('when the service restarts after the admin was deleted, then the admin is not re-created and the start warns about it', async () => {
    const first = await adminLogin(fx.app);
    expect([first.status, first.body.user.role]).toEqual([200, 'admin']);
    expect(fx.lines).toContainEqual(expect.objectContaining({ msg: 'first admin created', userId: first.body.user.id }));

    // A restart with the admin in place changes nothing.
    const restarted = await fx.restart();
    expect((await adminLogin(restarted.app)).status).toBe(200);
    expect(restarted.lines.map((l) => l.msg)).not.toContain('first admin created');

    // Deleted as any user is: the user spoke's user.deleted.
    const deleted = createEnvelope({ source: 'user', type: 'user.deleted', version: 1, payload: { userId: first.body.user.id as string } });
    const consumed = restarted.bus.waitFor('consumed', (c) => c.envelope.id === deleted.id);
    await restarted.bus.publish(deleted);
    await consumed;

    const afterDelete = await fx.restart();
    const login = await adminLogin(afterDelete.app);
    expect([login.status, login.body.error.code]).toEqual([401, 'AUTH.INVALID_CREDENTIALS']);
    expect(afterDelete.lines).toContainEqual(expect.objectContaining({
      level: 'warn', email: ADMIN.ADMIN_EMAIL, msg: expect.stringContaining('first admin, which was deleted: it is NOT re-created'),
    }));
    const { rows } = await afterDelete.db.query<{ active: number; all: number }>(
      `SELECT count(*) FILTER (WHERE disabled_at IS NULL)::int AS active, count(*)::int AS all FROM credentials WHERE email = $1`, [ADMIN.ADMIN_EMAIL]);
    expect(rows).toEqual([{ active: 0, all: 1 }]);
  });
});
