import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@hubspoke/kit/testing';
import type { Instance } from '../support/platform.js';
import { figure } from './support/figures.js';
import { failedShare, loadThrough } from './support/faults.js';
import { asClient, loggedErrors, PASSWORD, registerUser, startChaosWorld, type ChaosWorld, type TestUser } from './support/world.js';

// Every service's database on one private server, restarted under reads and registrations. Wanted: no process exits,
// no 500 (a 503 with Retry-After in the gap is fine), every acknowledged registration kept, its event sent once the
// outbox can read again.
const NO_LIMITS = { RATE_LIMIT_IP_MAX: '1000000', RATE_LIMIT_USER_MAX: '1000000' };
let world: ChaosWorld;
let hub: Instance;
let user: TestUser;

beforeAll(async () => {
  world = await startChaosWorld({ replicas: { user: 2 }, hubEnv: NO_LIMITS });
  hub = world.platform.instances('hub')[0]!;
  user = await registerUser(world, 'chaos-pg');
});
afterAll(async () => {
  await world?.stop();
});

const running = () => Object.values(world.platform.instances('hub')).concat(world.platform.instances('auth'), world.platform.instances('user'))
  .filter((i) => i.process.child.exitCode === null && i.process.child.signalCode === null).length;

interface Registrations {
  statuses: Record<string, number>;
  /** Answers that are neither 201 nor a 503 with Retry-After. */
  wrong: string[];
  accepted: string[];
}

/** Registers accounts one after another until `until` settles, recording what each answered. */
async function registerUntil(tag: string, until: Promise<unknown>): Promise<Registrations> {
  let done = false;
  void until.finally(() => (done = true));
  const result: Registrations = { statuses: {}, wrong: [], accepted: [] };
  for (let n = 0; !done; n++) {
    const email = `${tag}-${n}-${randomUUID().slice(0, 6)}@example.com`;
    const res = await world.api('POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Chaos' }, headers: asClient({ 'x-request-id': `${tag}-${n}` }) })
      .catch((error: unknown) => ({ status: 0, headers: new Headers(), body: { error: { code: String(error) } } }));
    result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
    if (res.status === 201) result.accepted.push(email);
    else if (res.status !== 503 || !/^\d+$/.test(res.headers.get('retry-after') ?? '')) result.wrong.push(`${res.status} ${res.body.error?.code}`);
    await sleep(25);
  }
  return result;
}

/** Every accepted account can log in, and has the profile the user spoke makes from its event; resolves with how long that took. */
async function everyCommitKept(emails: string[]): Promise<number> {
  const started = Date.now();
  await Promise.all(emails.map((email) => eventually(async () => {
    const login = await world.api('POST', '/auth/login', { body: { email, password: PASSWORD }, headers: asClient() });
    if (login.status !== 200) return false;
    return (await world.api('GET', '/users/me', { token: login.body.accessToken as string })).status === 200;
  }, 30_000, 250)));
  return Date.now() - started;
}

describe.each([
  { mode: 'fast' as const, label: 'fast (rolls back sessions)' },
  { mode: 'immediate' as const, label: 'immediate (crash recovery on start)' },
])('Postgres restarted $label', ({ mode }) => {
  test(`when Postgres restarts (${mode}) under reads and registrations, then no process exits, nothing answers 500 and every acknowledged registration is kept`, async () => {
    const row = figure(`Postgres restarted ${mode}`, 'no exit, no 500 (503 + Retry-After allowed), no lost commit, outbox resumes');
    const processes = running();
    let restartMs = 0;
    let registrations: Promise<Registrations> | undefined;
    const reads = await loadThrough(`${hub.url}/api/users/me`, {
      total: 1500, concurrency: 4, maxMs: 20_000, requestTimeoutMs: 10_000, pauseMs: 5, headers: { authorization: `Bearer ${user.token}` },
      requestIdPrefix: `chaos-pg-${mode}-read`, injectAfter: 200,
    }, async () => {
      const restarted = (async () => {
        await sleep(500);
        const started = Date.now();
        await world.postgres.stop(mode);
        await world.postgres.restart();
        restartMs = Date.now() - started;
        await sleep(1_000);
      })();
      registrations = registerUntil(`chaos-pg-${mode}-register`, restarted);
      await restarted;
    });
    const registered = await registrations!;
    const readsWrong = Object.entries(reads.errorCodes).filter(([code]) => !code.startsWith('503'));
    const keptMs = await everyCommitKept(registered.accepted);
    const exited = processes - running();
    const measured = `down ${restartMs} ms; reads ${failedShare(reads)}; registrations ${JSON.stringify(registered.statuses)}; `
      + `${registered.accepted.length} accepted, all kept and profiled ${keptMs} ms later; ${exited} processes exited`;
    const pass = exited === 0 && readsWrong.length === 0 && reads.failed === Object.values(reads.errorCodes).reduce((a, b) => a + b, 0) && registered.wrong.length === 0;
    expect(row.measured(measured, pass), JSON.stringify({ readsWrong, registrationsWrong: registered.wrong.slice(0, 5), logged: [...new Set(loggedErrors(world))].slice(0, 8) })).toBe(true);
    expect(registered.accepted.length).toBeGreaterThan(0);
  });
});

describe('a spoke started while its database is down', () => {
  // Its registry heartbeat is 3 s: ready within one of Postgres returning, plus the margin of 2 shared cores.
  const READY_MS = 5_000;

  test('when a user instance starts with Postgres down, then it is live, not ready, does not exit, and is ready soon after Postgres returns', async () => {
    const row = figure('spoke started while its database is down', `live, not ready, no exit; ready < ${READY_MS} ms after return`);
    await world.postgres.stop('fast');
    const spawnedAt = Date.now();
    const instance = await world.platform.startInstance('user', { registered: false });
    const probe = async (path: string) => (await fetch(`${instance.url}${path}`).catch(() => undefined))?.status ?? 'down';
    // Node and tsx load the service first (over a second on 2 shared cores): sampling starts once it listens, or has exited.
    await eventually(async () => instance.process.child.exitCode !== null || (await probe('/health')) !== 'down', 30_000, 50);
    const listeningMs = Date.now() - spawnedAt;
    const observed: string[] = [];
    for (let second = 0; second < 10; second++) {
      await sleep(1_000);
      observed.push(`${await probe('/health')}/${await probe('/ready')}`);
    }
    const exitCode = instance.process.child.exitCode;
    await world.postgres.restart();
    const back = Date.now();
    const readyMs = await eventually(async () => (await probe('/ready')) === 200, 20_000, 100).then(() => Date.now() - back, () => Infinity);
    const measured = `listening ${listeningMs} ms after spawn; health/ready each second while down: ${observed.join(' ')}; exit code ${exitCode ?? 'none'}; ready ${readyMs} ms after Postgres returned`;
    const pass = exitCode === null && observed.every((o) => o === '200/503') && readyMs < READY_MS;
    expect(row.measured(measured, pass)).toBe(true);
  });
});
