import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestKeys, eventually, metricSum, signTestToken, testRegistryKey, type TestKeys } from '@hubspoke/kit/testing';
import { startSpoke, stopAll, type Spoke } from '../../hub-orchestrator/test/support/spokes.js';
import { startGateway } from '../support/gateway.js';
import { SPOKES } from '../support/platform.js';
import { changedTables, clientAt, rawExchange, snapshot, takeAccountEmails, type Answer } from './support/attack.js';
import { figure } from './support/figures.js';
import { registerUser, startChaosWorld, type ChaosWorld, type TestUser } from './support/world.js';

// Attacks through the real gateway (nginx) → hub → spokes. Each entry is one request (or one raw exchange) that must
// be refused with a 4xx and leave every database as it was. A new finding is one more entry in ATTACKS; what takes
// more than one request (floods, a rogue spoke, a lockout) is a test of its own below, with its own row.
let world: ChaosWorld;
let ana: TestUser;
let ben: TestUser;
/** Registered, then logged out: its access token is still unexpired. */
let cara: TestUser;
let signingKey: TestKeys;
let impostors: Spoke[] = [];
const ADMIN = { email: 'chaos-admin@example.com', password: 'a-long-chaos-admin-passphrase' };
const ISSUER = { issuer: 'hubspoke-auth', audience: 'hubspoke' };

interface Context {
  gatewayPort: number;
  ana: TestUser;
  ben: TestUser;
  cara: TestUser;
  /** A token signed with the auth spoke's real key, with these claims (`issuedAt`: seconds from now). */
  forge: (claims: { sub?: string; role?: string; expiresIn?: number; issuedAt?: number }) => Promise<string>;
}

interface Attack {
  kind: string;
  name: string;
  /** Statuses that count as refused. */
  refused: number[];
  /** The `error.code` the answer carries, in a JSON body of the project's error shape. */
  code?: string;
  /** Headers the answer carries, with these values. */
  headers?: Record<string, string>;
  /** Client input the answer must not reflect. */
  unechoed?: string;
  /** Every answer it got. */
  send: (ctx: Context) => Promise<Answer[]>;
}

// What nginx adds to its own answers and what the kit's helmet sets on every service's (hub-config/templates,
// packages/kit/src/http/security-headers.ts); only helmet sends Cross-Origin-Resource-Policy.
const GATEWAY_HEADERS = {
  'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};
const SERVICE_HEADERS = { ...GATEWAY_HEADERS, 'content-security-policy': "default-src 'none';frame-ancestors 'none'", 'cross-origin-resource-policy': 'same-origin' };

const req = (method: string, path: string, { token, body, headers = {} }: { token?: string; body?: string; headers?: Record<string, string> } = {}) =>
  async (): Promise<Answer[]> => {
    const res = await fetch(`${world.platform.url}${path}`, {
      method, body, headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    });
    return [{ status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() }];
  };
const raw = (lines: string[], body = '') => (ctx: Context) => rawExchange(ctx.gatewayPort, `${lines.join('\r\n')}\r\n\r\n${body}`);
/** A request line (and headers) nginx must answer itself; the connection closes after it. */
const line = (requestLine: string, ...headers: string[]) => raw([requestLine, 'Host: localhost', ...headers, 'Connection: close']);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const SCRIPT_KEY = '<script>alert(document.cookie)</script>';
const LONG_KEY = `k${'x'.repeat(999)}`;

const ATTACKS: Attack[] = [
  // BOLA: another user's resources are invisible, not forbidden.
  { kind: 'BOLA', name: 'read another user\'s profile', refused: [404], send: (c) => req('GET', `/api/users/${c.ben.id}`, { token: c.ana.token })() },
  { kind: 'BOLA', name: 'delete another user\'s profile', refused: [404], send: (c) => req('DELETE', `/api/users/${c.ben.id}`, { token: c.ana.token })() },
  { kind: 'BOLA', name: 'list every profile as a user', refused: [403], send: (c) => req('GET', '/api/users', { token: c.ana.token })() },
  // JWT forgery: every variant is 401 before any spoke is touched.
  { kind: 'JWT forgery', name: 'alg none', refused: [401], send: (c) => req('GET', '/api/users/me', { token: `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ sub: c.ana.id, role: 'admin', iss: 'hubspoke-auth', aud: 'hubspoke', exp: 9_999_999_999 })}.` })() },
  { kind: 'JWT forgery', name: 'signed with another key under the real kid', refused: [401], send: async (c) => {
    const other = { ...(await createTestKeys()), kid: signingKey.kid };
    return req('GET', '/api/users/me', { token: await signTestToken(other, { sub: c.ana.id, role: 'admin', issuer: 'hubspoke-auth', audience: 'hubspoke' }) })();
  } },
  { kind: 'JWT forgery', name: 'expired (real key)', refused: [401], send: async (c) => req('GET', '/api/users/me', { token: await c.forge({ sub: c.ana.id, role: 'user', expiresIn: -60 }) })() },
  { kind: 'JWT forgery', name: 'tampered claims (role admin, signature kept)', refused: [401], send: (c) => {
    const [header, payload, signature] = c.ana.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return req('GET', '/api/users', { token: `${header}.${b64({ ...claims, role: 'admin' })}.${signature}` })();
  } },
  // Mass assignment: fields that are not the user's to set are refused, never applied.
  { kind: 'mass assignment', name: 'role in PATCH /users/me', refused: [400], send: (c) => req('PATCH', '/api/users/me', { token: c.ana.token, body: JSON.stringify({ name: 'Ana', role: 'admin' }) })() },
  { kind: 'mass assignment', name: 'id in PATCH /users/me', refused: [400], send: (c) => req('PATCH', '/api/users/me', { token: c.ana.token, body: JSON.stringify({ name: 'Ana', id: c.ben.id }) })() },
  { kind: 'mass assignment', name: '__proto__ in PATCH /users/me', refused: [400], send: (c) => req('PATCH', '/api/users/me', { token: c.ana.token, body: '{"name":"Ana","__proto__":{"role":"admin"}}' })() },
  // Request smuggling: conflicting framing is refused or read one way only; no second request hides in the body.
  { kind: 'smuggling', name: 'Content-Length + Transfer-Encoding (CL.TE)', refused: [400], send: raw([
    'POST /api/auth/logout HTTP/1.1', 'Host: localhost', 'Content-Type: application/json', 'Content-Length: 6', 'Transfer-Encoding: chunked',
  ], '0\r\n\r\nGET /api/hub/registry HTTP/1.1\r\nHost: localhost\r\n\r\n') },
  { kind: 'smuggling', name: 'two Content-Length headers', refused: [400], send: raw([
    'POST /api/auth/logout HTTP/1.1', 'Host: localhost', 'Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 60',
  ], '{}GET /api/hub/registry HTTP/1.1\r\nHost: localhost\r\n\r\n') },
  { kind: 'smuggling', name: 'obfuscated Transfer-Encoding', refused: [400, 501], send: raw([
    'POST /api/auth/logout HTTP/1.1', 'Host: localhost', 'Content-Type: application/json', 'Content-Length: 2', 'Transfer-Encoding: xchunked',
  ], '{}') },
  // Path tricks: internal endpoints stay unreachable from outside, however the path is spelled; sent with a valid
  // token, so the refusal is the routing's, not a missing token's 401.
  ...[
    '/api/users/../internal/prometheus/targets', '/api/users/%2e%2e/metrics', '/api/users/..%2fmetrics', '/api/users%2f..%2fmetrics',
    '/internal/prometheus/targets', '/metrics', '/api/users/metrics', '/api/users/METRICS/', '/api/auth/%2fready', '/api/hub/../metrics',
    '/internal/metrics', '/api/users/internal/metrics', '/api/users/INTERNAL/Metrics/', '/api/users/%69nternal/metrics', '/api/users//internal/metrics',
    '/api/hub/../internal/metrics',
  ].map((path): Attack => ({
    kind: 'path trick', name: path, refused: [400, 404],
    send: (c) => raw([`GET ${path} HTTP/1.1`, 'Host: localhost', `Authorization: Bearer ${c.ana.token}`, 'Connection: close'])(c),
  })),
  // Oversized and deep bodies: refused at the gateway or the parser, never parsed into a 500.
  { kind: 'oversized body', name: '2 MB register body', refused: [413], send: req('POST', '/api/auth/register', { body: JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(2_000_000), name: 'Big' }) }) },
  { kind: 'deep body', name: '5 000-deep array in PATCH /users/me', refused: [400], send: (c) => req('PATCH', '/api/users/me', { token: c.ana.token, body: `{"preferences":{"a":${deep(5_000)}}}` })() },
  { kind: 'deep body', name: '5 000-deep array in register', refused: [400], send: req('POST', '/api/auth/register', { body: `{"email":"deep@example.com","password":${deep(5_000)},"name":"D"}` }) },
  // Malformed requests (hardening finding 5): nginx answers each itself, as JSON in the error shape with its security
  // headers (finding 6), never an HTML page or a 500.
  { kind: 'malformed request', name: 'a NUL escape: GET /api/%00', refused: [400], code: 'GATEWAY.BAD_REQUEST', headers: GATEWAY_HEADERS, send: line('GET /api/%00 HTTP/1.1') },
  { kind: 'malformed request', name: 'a bare %: GET /api/users/%', refused: [400], code: 'GATEWAY.BAD_REQUEST', headers: GATEWAY_HEADERS, send: line('GET /api/users/% HTTP/1.1') },
  { kind: 'malformed request', name: 'a bad UTF-8 escape: GET /api/users/%C0%AF', refused: [400], code: 'REQUEST.INVALID', headers: SERVICE_HEADERS, send: (c) => line('GET /api/users/%C0%AF HTTP/1.1', `Authorization: Bearer ${c.ana.token}`)(c) },
  { kind: 'malformed request', name: 'a bad UTF-8 escape: GET /%FF%FE', refused: [404], code: 'GATEWAY.NOT_FOUND', headers: GATEWAY_HEADERS, send: line('GET /%FF%FE HTTP/1.1') },
  { kind: 'malformed request', name: 'an asterisk target: GET *', refused: [400], code: 'GATEWAY.BAD_REQUEST', headers: GATEWAY_HEADERS, send: line('GET * HTTP/1.1') },
  { kind: 'malformed request', name: 'a 10 kB URI', refused: [414], code: 'GATEWAY.URI_TOO_LONG', headers: GATEWAY_HEADERS, send: line(`GET /api/users/${'a'.repeat(10_000)} HTTP/1.1`) },
  { kind: 'malformed request', name: 'a 10 kB header', refused: [431], code: 'GATEWAY.HEADERS_TOO_LARGE', headers: GATEWAY_HEADERS, send: line('GET /api/users/me HTTP/1.1', `X-Filler: ${'a'.repeat(10_000)}`) },
  // Security headers on a spoke's own answer through the hub and nginx (finding 6).
  { kind: 'security headers', name: 'a spoke\'s 404 (another user\'s profile)', refused: [404], code: 'USER.NOT_FOUND', headers: SERVICE_HEADERS, send: (c) => req('GET', `/api/users/${c.ben.id}`, { token: c.ana.token })() },
  // Tokens the signature cannot tell apart (findings 7 and 10).
  { kind: 'token revocation', name: 'a logged-out user\'s access token', refused: [401], code: 'AUTH.TOKEN_REVOKED', send: (c) => req('GET', '/api/users/me', { token: c.cara.token })() },
  { kind: 'JWT forgery', name: 'iat an hour in the future (real key)', refused: [401], code: 'AUTH.TOKEN_INVALID', send: async (c) => req('GET', '/api/users/me', { token: await c.forge({ sub: c.ana.id, role: 'user', issuedAt: 3_600 }) })() },
  // Client-chosen field names in a 400 (finding 10): named, never reflected as sent.
  { kind: 'reflected input', name: 'a <script> key in PATCH /users/me', refused: [400], code: 'REQUEST.VALIDATION_FAILED', unechoed: SCRIPT_KEY, send: (c) => req('PATCH', '/api/users/me', { token: c.ana.token, body: JSON.stringify({ name: 'Ana', [SCRIPT_KEY]: 1 }) })() },
  { kind: 'reflected input', name: 'a 1 000-character key in PATCH /users/me', refused: [400], code: 'REQUEST.VALIDATION_FAILED', unechoed: LONG_KEY, send: (c) => req('PATCH', '/api/users/me', { token: c.ana.token, body: JSON.stringify({ name: 'Ana', [LONG_KEY]: 1 }) })() },
];

beforeAll(async () => {
  // The auth spoke signs with a key the test holds (AUTH_SIGNING_KEYS), so a forgery can differ from a real token in
  // one claim only; the keys it keeps in its database are sealed (finding 9).
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `chaos-${randomUUID()}`;
  const signingKeys = Buffer.from(JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid, alg: 'ES256' }] })).toString('base64');
  signingKey = { kid, alg: 'ES256', privateKey, publicJwk: {}, jwks: { keys: [] } };
  const auth = { ...SPOKES.auth, env: (platform: Parameters<NonNullable<typeof SPOKES.auth.env>>[0]) => ({ ...SPOKES.auth.env!(platform), AUTH_SIGNING_KEYS: signingKeys }) };
  world = await startChaosWorld({ gateway: true, admin: ADMIN, spokes: [auth, SPOKES.user] });
  await takeAccountEmails(world.rabbit.url, world.platform.prefix);
  [ana, ben, cara] = [await registerUser(world, 'chaos-ana'), await registerUser(world, 'chaos-ben'), await registerUser(world, 'chaos-cara')];
  const logout = await world.api('POST', '/auth/logout', { body: { refreshToken: cara.refreshToken } });
  if (logout.status !== 204) throw new Error(`logout answered ${logout.status}: ${JSON.stringify(logout.body)}`);
});
afterAll(async () => {
  await stopAll(impostors);
  await world?.stop();
});

/** The answer's `error.code` when its body is JSON in the error shape. */
function errorCode({ body }: Answer): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } } | null)?.error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** How an attack's answers miss what refusing it means: none when it was refused as its entry says. */
function shortfalls(attack: Attack, answers: Answer[]): string[] {
  const found = answers.length === 1 ? [] : [`${answers.length} answers`];
  for (const answer of answers) {
    if (!attack.refused.includes(answer.status)) found.push(`status ${answer.status}`);
    if (attack.code !== undefined && errorCode(answer) !== attack.code) found.push(`not ${attack.code} in the error shape: ${JSON.stringify(answer.body.slice(0, 120))}`);
    for (const [name, value] of Object.entries(attack.headers ?? {})) {
      if (answer.headers[name] !== value) found.push(`${name}: ${answer.headers[name] ?? 'missing'}`);
    }
    if (attack.unechoed !== undefined && answer.body.includes(attack.unechoed)) found.push('the input is echoed');
  }
  return found;
}

const targetOf = ({ refused, code, headers, unechoed }: Attack) =>
  `${refused.join(' or ')}${code ? ` ${code} (JSON)` : ''}${headers ? ` with ${headers === SERVICE_HEADERS ? 'helmet\'s' : 'the'} security headers` : ''}${unechoed ? ', input not echoed' : ''}, databases unchanged`;

describe('attacks through the gateway', () => {
  test.each(ATTACKS)('$kind: when a client tries $name, then it is refused with a 4xx and no database changes', async (attack) => {
    const row = figure(`attack, ${attack.kind}: ${attack.name}`, targetOf(attack));
    const context: Context = {
      gatewayPort: world.platform.gateway!.port, ana, ben, cara,
      forge: ({ expiresIn, issuedAt, ...claims }) => signTestToken(signingKey, { ...claims, expiresIn, issuedAt, ...ISSUER }),
    };
    const before = await snapshot(world.platform.databases);
    const answers = await attack.send(context);
    const changed = changedTables(before, await snapshot(world.platform.databases));
    const missed = shortfalls(attack, answers);
    const answered = answers.map((a) => `${a.status}${attack.code ? ` ${errorCode(a) ?? 'not JSON'}` : ''}`).join(', ') || 'nothing';
    const measured = `answered ${answered}${missed.length ? ` (${missed.join('; ')})` : ''}; ${changed.length ? `changed ${changed.join(', ')}` : 'databases unchanged'}`;
    expect(row.measured(measured, missed.length === 0 && changed.length === 0)).toBe(true);
  });
});

describe('attacks that take more than one request', () => {
  // Impostor spokes declare every path public, as one harvesting passwords would.
  const IMPOSTOR = { PUBLIC_ROUTES: JSON.stringify([{ method: 'GET', path: '/*' }, { method: 'POST', path: '/*' }]) };

  test('route takeover: when a spoke claims the auth prefix with its own key, or signs as auth, then both are refused and /api/auth keeps reaching the auth spoke', async () => {
    const row = figure('attack, route takeover: a spoke claiming the auth prefix (own key), one signing as auth (its key)', 'claim refused and counted, forged record rejected, every /api/auth request reaches the auth spoke, databases unchanged');
    const hub = world.platform.instances('hub')[0]!;
    const before = await snapshot(world.platform.databases);
    const spoke = { keyPrefix: world.platform.prefix, routePrefix: 'auth', redisUrl: world.redis.url };
    impostors = await Promise.all([
      startSpoke({ ...spoke, service: 'a-claim', env: IMPOSTOR }),
      startSpoke({ ...spoke, service: 'auth', env: { ...IMPOSTOR, REGISTRY_KEY: testRegistryKey('a-claim') } }),
    ]);
    const admin = await signTestToken(signingKey, { sub: randomUUID(), role: 'admin', ...ISSUER });
    const badSignatures = async () => {
      const res = await fetch(`${world.platform.url}/api/hub/registry`, { headers: { authorization: `Bearer ${admin}` } });
      return ((await res.json()) as { registry?: { rejected?: Record<string, number> } }).registry?.rejected?.['bad-signature'] ?? 0;
    };
    // Both records are in Redis now; the hub reads them within its resync (500 ms here).
    const refusedClaims = () => metricSum([hub], 'hub_route_claims_refused_total', 'prefix="auth"', 'service="a-claim"');
    await eventually(async () => (await refusedClaims()) >= 1 && (await badSignatures()) >= 1, 10_000, 100).catch(() => undefined);
    const [claims, forged] = [await refusedClaims(), await badSignatures()];
    const statuses: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${world.platform.url}/api/auth/.well-known/jwks.json`);
      const served = res.status === 200 && ((await res.json()) as { keys?: { kid?: string }[] }).keys?.some((key) => key.kid === signingKey.kid) === true;
      statuses[served ? 'real JWKS' : String(res.status)] = (statuses[served ? 'real JWKS' : String(res.status)] ?? 0) + 1;
    }
    const reached = (await Promise.all(impostors.map((s) => s.received()))).reduce((a, b) => a + b, 0);
    const changed = changedTables(before, await snapshot(world.platform.databases));
    const measured = `claim refused ${claims}×, forged record rejected ${forged}×; 30 GET /api/auth/.well-known/jwks.json: ${JSON.stringify(statuses)}, impostors reached ${reached}×; ${changed.length ? `changed ${changed.join(', ')}` : 'databases unchanged'}`;
    expect(row.measured(measured, claims >= 1 && forged >= 1 && statuses['real JWKS'] === 30 && reached === 0 && changed.length === 0)).toBe(true);
  });

  test('login lockout: when another address fails the admin\'s password many times, then it is throttled and the admin still signs in from their own', async () => {
    const row = figure('attack, login lockout: 8 wrong admin passwords from another address', 'attacker 401 then 429, admin from their own address 200 with Cache-Control: no-store');
    const attacker = clientAt('127.0.0.5');
    const tries: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await attacker.send(`${world.platform.url}/api/auth/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN.email, password: `wrong-guess-${i}-of-many` }),
      });
      tries.push(res.status);
    }
    attacker.close();
    const [owner] = await req('POST', '/api/auth/login', { body: JSON.stringify(ADMIN) })();
    const measured = `attacker ${tries.join(' ')}; admin ${owner!.status}, Cache-Control: ${owner!.headers['cache-control'] ?? 'none'}`;
    const throttled = tries.every((status) => status === 401 || status === 429) && tries.includes(429);
    expect(row.measured(measured, throttled && owner!.status === 200 && owner!.headers['cache-control'] === 'no-store')).toBe(true);
  });

  test('gateway limit: when one address sends more than nginx\'s burst, then nginx answers the rest 429 in the error shape and the hub never sees them', async () => {
    // A gateway of its own with a tight limit (1 r/min, burst 5) in front of the same hub: the test gateway's limit
    // is set far above every case's load.
    const row = figure('attack, flood: past nginx\'s limit_req (1 r/min, burst 5)', 'first 6 reach the hub (401), the rest 429 GATEWAY.TOO_MANY_REQUESTS (JSON, Retry-After) from nginx, databases unchanged');
    const gateway = await startGateway({ hubPorts: [Number(new URL(world.platform.instances('hub')[0]!.url).port)], rateLimit: { rate: '1r/m', burst: 5 } });
    const client = clientAt('127.0.0.4');
    try {
      const token = await forgedToken();
      const before = await snapshot(world.platform.databases);
      const answers: Answer[] = [];
      for (let i = 0; i < 10; i++) answers.push(await client.send(`${gateway.url}/api/users/me`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': `chaos-limit-req-${i}` } }));
      const changed = changedTables(before, await snapshot(world.platform.databases));
      const proxied = (await gateway.accessLog()).filter((entry) => String(entry.requestId).startsWith('chaos-limit-req-') && entry.upstreamAddr !== '').length;
      const limited = answers.slice(6);
      const measured = `answered ${answers.map((a) => a.status).join(' ')}; 429s ${[...new Set(limited.map((a) => `${errorCode(a) ?? 'not JSON'} Retry-After ${a.headers['retry-after'] ?? 'none'}`))].join(', ')}; ${proxied} reached the hub; ${changed.length ? `changed ${changed.join(', ')}` : 'databases unchanged'}`;
      const pass = answers.slice(0, 6).every((a) => a.status === 401) && limited.every((a) => a.status === 429 && errorCode(a) === 'GATEWAY.TOO_MANY_REQUESTS' && a.headers['retry-after'] === '1')
        && proxied === 6 && changed.length === 0;
      expect(row.measured(measured, pass)).toBe(true);
    } finally {
      client.close();
      await gateway.stop();
    }
  });

  // Floods past the hub's per-address quota (RATE_LIMIT_IP_MAX, 600 a minute by default), each from a loopback
  // address of its own: the address they exhaust is not the one every other case uses.
  const IP_QUOTA = 600;
  const FLOOD = 700;
  test.each([
    { what: 'forged tokens (another key under the real kid)', from: '127.0.0.2', before: 401, path: () => '/api/users/me', token: () => forgedToken() },
    { what: 'unknown prefixes', from: '127.0.0.3', before: 404, path: (i: number) => `/api/no-such-prefix-${i}/x`, token: async () => undefined },
  ])('flood: when one address sends $what past its quota, then the rest is 429 before any token check or routing', async ({ what, from, before: refusedFirst, path, token }) => {
    const row = figure(`attack, flood: ${FLOOD} ${what} from one address`, `${refusedFirst} until the address's quota, then 429 RATE_LIMIT.EXCEEDED (JSON, Retry-After) counted in scope ip, databases unchanged`);
    const hub = world.platform.instances('hub')[0]!;
    const bearer = await token();
    const limitedBefore = await metricSum([hub], 'hub_rate_limited_total', 'scope="ip"');
    const dbBefore = await snapshot(world.platform.databases);
    const client = clientAt(from);
    const answers: Answer[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = next++; i < FLOOD; i = next++) {
        answers.push(await client.send(`${world.platform.url}${path(i)}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} }));
      }
    }));
    client.close();
    const changed = changedTables(dbBefore, await snapshot(world.platform.databases));
    const counted = (await metricSum([hub], 'hub_rate_limited_total', 'scope="ip"')) - limitedBefore;
    const limited = answers.filter((a) => a.status === 429);
    const byStatus = Object.fromEntries([...new Set(answers.map((a) => a.status))].map((status) => [status, answers.filter((a) => a.status === status).length]));
    const badLimited = limited.filter((a) => errorCode(a) !== 'RATE_LIMIT.EXCEEDED' || !/^\d+$/.test(a.headers['retry-after'] ?? '')).length;
    // A forged token naming Ana never spends her quota: only verified tokens count per user.
    const [anaAfter] = await req('GET', '/api/users/me', { token: ana.token })();
    const measured = `${JSON.stringify(byStatus)}; ${limited.length - badLimited} of ${limited.length} 429s RATE_LIMIT.EXCEEDED with Retry-After; ip scope counted ${counted}; Ana afterwards ${anaAfter!.status}; ${changed.length ? `changed ${changed.join(', ')}` : 'databases unchanged'}`;
    const pass = answers.length === FLOOD && answers.every((a) => a.status === refusedFirst || a.status === 429) && limited.length >= FLOOD - IP_QUOTA
      && badLimited === 0 && counted === limited.length && anaAfter!.status === 200 && changed.length === 0;
    expect(row.measured(measured, pass)).toBe(true);
  });
});

/** A token under the real kid signed with another key: costs the hub a signature check to refuse. */
async function forgedToken(): Promise<string> {
  return signTestToken({ ...(await createTestKeys()), kid: signingKey.kid }, { sub: ana.id, role: 'admin', ...ISSUER });
}
