import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '@hubspoke/kit/testing';
import type { ComposeStack } from './compose-stack.js';
import { REPO_ROOT } from './compose.js';
import type { ApiReply, apiClient } from './platform.js';

type Api = ReturnType<typeof apiClient>;
export type Note = (line: string) => void;

function expectStatus(note: Note, step: string, reply: ApiReply, status: number): ApiReply {
  if (reply.status !== status) throw new Error(`${step}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  note(`${step}: ${status}`);
  return reply;
}

/** The README's curl journey through the gateway; returns an access token for further calls. */
export async function journey(api: Api, note: Note): Promise<{ token: string; email: string }> {
  const email = `smoke-${Date.now()}@example.com`;
  const password = 'a-long-smoke-passphrase';
  expectStatus(note, 'register', await api('POST', '/auth/register', { body: { email, password, name: 'Smoke Test' } }), 201);
  const login = expectStatus(note, 'login', await api('POST', '/auth/login', { body: { email, password } }), 200);
  const token = login.body.accessToken as string;
  expectStatus(note, 'me', await api('GET', '/users/me', { token }), 200);
  // The hub's jobs reach its own database (migrated in the image); a type no spoke serves is refused.
  expectStatus(note, 'jobs list', await api('GET', '/hub/jobs', { token }), 200);
  expectStatus(note, 'job of an unserved type', await api('POST', '/hub/jobs', { token, body: { type: 'smoke.none', items: [{ key: 'a', input: {} }] } }), 400);
  expectStatus(note, 'update me', await api('PATCH', '/users/me', { token, body: { name: 'Smoke Tested', bio: 'through the gateway' } }), 200);
  expectStatus(note, 'client event', await api('POST', '/analytics/events', { token, body: { events: [{ type: 'smoke.checked' }] } }), 202);
  expectStatus(note, 'my activity', await api('GET', '/analytics/users/me/activity', { token }), 200);
  const updated = await api('GET', '/users/me', { token });
  if (updated.body.name !== 'Smoke Tested') throw new Error(`update not visible: ${JSON.stringify(updated.body)}`);
  const refreshed = expectStatus(note, 'refresh', await api('POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } }), 200);
  expectStatus(note, 'logout', await api('POST', '/auth/logout', { body: { refreshToken: refreshed.body.refreshToken } }), 204);
  expectStatus(note, 'refresh after logout', await api('POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } }), 401);
  // Logout revokes the session's access tokens at the hub at once, not when they expire.
  const revoked = expectStatus(note, 'access token after logout', await api('GET', '/users/me', { token }), 401);
  if (revoked.body.error?.code !== 'AUTH.TOKEN_REVOKED') throw new Error(`after logout: ${JSON.stringify(revoked.body)}`);
  const again = expectStatus(note, 'login again', await api('POST', '/auth/login', { body: { email, password } }), 200);
  return { token: again.body.accessToken as string, email };
}

/** The emails MailDev holds, read through its REST API from inside the notification spoke's container (MailDev publishes nothing in the base stack). */
function mailDevEmails(stack: ComposeStack): { to: string[]; subject: string }[] {
  const spoke = stack.containers().find((c) => c.service === 'spoke-notification');
  if (!spoke) throw new Error('no spoke-notification container');
  const script = "fetch('http://maildev:1080/email').then(r=>r.json()).then(m=>process.stdout.write(JSON.stringify(m.map(e=>({to:e.to.map(t=>t.address),subject:e.subject})))))";
  return JSON.parse(stack.nodeIn(spoke.name, script)) as { to: string[]; subject: string }[];
}

/** Waits for an email to `to` whose subject passes `match` to reach MailDev; notes how long it took. */
async function emailArrived(stack: ComposeStack, to: string, match: (subject: string) => boolean, what: string, note: Note, timeoutMs: number): Promise<void> {
  const started = Date.now();
  const found = await eventually(() => mailDevEmails(stack).find((m) => m.to.includes(to) && match(m.subject)), timeoutMs, 500)
    .catch((error: Error) => {
      throw new Error(`${what} for ${to} not in MailDev: ${error.message}`);
    });
  note(`${what} "${found.subject}" in MailDev ${Date.now() - started} ms later`);
}

/** The notification spoke's welcome email for `email`, found in MailDev's REST API. */
export async function welcomeEmailDelivered(stack: ComposeStack, email: string, note: Note, timeoutMs: number): Promise<void> {
  await emailArrived(stack, email, (subject) => subject.startsWith('Welcome'), 'welcome email after the journey', note, timeoutMs);
}

/**
 * A real job through the gateway: as the registered user, a `notification.send` job of one item (an email to
 * their own address, the account contact the welcome email came from) runs to `succeeded`, and the email is in MailDev.
 */
export async function notificationJobDelivered(stack: ComposeStack, api: Api, token: string, email: string, note: Note, timeoutMs: number): Promise<void> {
  const title = `Smoke job ${Date.now()}`;
  const created = expectStatus(note, 'notification.send job', await api('POST', '/hub/jobs', {
    token, body: { type: 'notification.send', items: [{ key: 'self', input: { channel: 'email', template: 'notice', data: { title, message: 'Sent by a hub job' } } }] },
  }), 202);
  const id = created.body.id as string;
  const job = await eventually(async () => {
    const reply = await api('GET', `/hub/jobs/${id}`, { token });
    if (reply.status !== 200) throw new Error(`GET /api/hub/jobs/${id}: ${reply.status} ${JSON.stringify(reply.body)}`);
    return ['succeeded', 'partially_failed', 'failed', 'cancelled'].includes(reply.body.status as string) ? reply.body : undefined;
  }, timeoutMs, 500);
  if (job.status !== 'succeeded' || job.succeeded !== 1) {
    const items = await api('GET', `/hub/jobs/${id}/items`, { token });
    throw new Error(`notification.send job ended ${String(job.status)}: ${JSON.stringify(job)} items ${JSON.stringify(items.body)}`);
  }
  note(`notification.send job ${id} succeeded in ${String(job.durationMs)} ms`);
  await emailArrived(stack, email, (subject) => subject === title, 'job email', note, timeoutMs);
}

/** Each spoke-user replica's own count of /me requests, read inside its container. */
function meRequestsPerReplica(stack: ComposeStack): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of stack.containers().filter((x) => x.service === 'spoke-user')) {
    const metrics = stack.nodeIn(c.name, "fetch('http://127.0.0.1:'+process.env.PORT+'/internal/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))");
    const total = [...metrics.matchAll(/^http_requests_total\{[^}]*route="\/me"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    counts.set(c.name, total);
  }
  return counts;
}

/** Scales spoke-user to 3 and sends /me until every replica has served some (they register within seconds). */
export async function scaledOut(stack: ComposeStack, api: Api, token: string, note: Note, timeoutMs: number): Promise<void> {
  stack.up(['--scale', 'spoke-user=3']);
  await stack.waitHealthy({ 'spoke-user': 3 }, timeoutMs);
  const before = meRequestsPerReplica(stack);
  let served: [string, number][] = [];
  await eventually(async () => {
    for (let i = 0; i < 10; i++) {
      const reply = await api('GET', '/users/me', { token });
      if (reply.status !== 200) throw new Error(`GET /api/users/me after scaling: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    served = [...meRequestsPerReplica(stack)].map(([name, n]) => [name, n - (before.get(name) ?? 0)]);
    return served.length >= 3 && served.every(([, n]) => n > 0);
  }, 60_000, 0).catch((error: Error) => {
    throw new Error(`not every spoke-user replica served traffic: ${served.map(([name, n]) => `${name}=${n}`).join(', ')} (${error.message})`);
  });
  note(`scaled spoke-user to 3; /me requests served per replica: ${served.map(([name, n]) => `${name}=${n}`).join(', ')}`);
}

const HOT_FILE = 'spokes/user-service/src/domain/user-errors.ts';
const HOT_TEXT = "'A user id is a UUID'";

/**
 * Edits a mounted spoke source on the host and waits for the gateway to serve the change (node --watch
 * restarts the spoke, which registers again); the edit is always reverted.
 */
export async function hotReloaded(api: Api, token: string, note: Note): Promise<void> {
  const file = join(REPO_ROOT, HOT_FILE);
  const source = readFileSync(file, 'utf8');
  if (!source.includes(HOT_TEXT)) throw new Error(`${HOT_FILE} no longer holds ${HOT_TEXT}: give the smoke test another edit to make`);
  const message = async () => {
    const reply = await api('GET', '/users/not-a-uuid', { token });
    return { status: reply.status, message: (reply.body.error as { message?: string } | undefined)?.message };
  };
  const before = await message();
  if (before.status !== 400 || !before.message?.startsWith('A user id is a UUID')) throw new Error(`before the edit: ${JSON.stringify(before)}`);
  const marker = `hot reload ${Date.now()}`;
  const editedAt = Date.now();
  // An interrupted run must not leave the edit in the working tree either.
  const onSignal = (signal: NodeJS.Signals) => {
    writeFileSync(file, source);
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  writeFileSync(file, source.replace(HOT_TEXT, `'A user id is a UUID (${marker})'`));
  try {
    await eventually(async () => (await message()).message?.includes(marker), 120_000, 500);
  } finally {
    writeFileSync(file, source);
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  note(`hot reload: an edit of ${HOT_FILE} was served through the gateway ${Math.round((Date.now() - editedAt) / 1000)} s later (edit reverted)`);
}
