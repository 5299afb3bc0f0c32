import { importJWK } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestKeys, signTestToken, type TestKeys } from '@hubspoke/kit/testing';
import { changedTables, rawExchange, snapshot } from './support/attack.js';
import { figure } from './support/figures.js';
import { registerUser, startChaosWorld, type ChaosWorld, type TestUser } from './support/world.js';

// Attacks through the real gateway (nginx) → hub → spokes. Each entry is one request (or one raw exchange) that must
// be refused with a 4xx and leave every database as it was. A new finding is one more entry in ATTACKS.
let world: ChaosWorld;
let ana: TestUser;
let ben: TestUser;
let signingKey: TestKeys;

interface Context {
  gatewayPort: number;
  ana: TestUser;
  ben: TestUser;
  /** A token signed with the auth spoke's real key, with these claims. */
  forge: (claims: { sub?: string; role?: string; expiresIn?: number }) => Promise<string>;
}

interface Attack {
  kind: string;
  name: string;
  /** Statuses that count as refused. */
  refused: number[];
  /** The statuses of every response it got. */
  send: (ctx: Context) => Promise<number[]>;
}

const req = (method: string, path: string, { token, body, headers = {} }: { token?: string; body?: string; headers?: Record<string, string> } = {}) =>
  async (): Promise<number[]> => {
    const res = await fetch(`${world.platform.url}${path}`, {
      method, body, headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    });
    await res.arrayBuffer();
    return [res.status];
  };
const raw = (lines: string[], body = '') => (ctx: Context) => rawExchange(ctx.gatewayPort, `${lines.join('\r\n')}\r\n\r\n${body}`);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

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
  ].map((path): Attack => ({
    kind: 'path trick', name: path, refused: [400, 404],
    send: (c) => raw([`GET ${path} HTTP/1.1`, 'Host: localhost', `Authorization: Bearer ${c.ana.token}`, 'Connection: close'])(c),
  })),
  // Oversized and deep bodies: refused at the gateway or the parser, never parsed into a 500.
  { kind: 'oversized body', name: '2 MB register body', refused: [413], send: req('POST', '/api/auth/register', { body: JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(2_000_000), name: 'Big' }) }) },
  { kind: 'deep body', name: '5 000-deep array in PATCH /users/me', refused: [400], send: (c) => req('PATCH', '/api/users/me', { token: c.ana.token, body: `{"preferences":{"a":${deep(5_000)}}}` })() },
  { kind: 'deep body', name: '5 000-deep array in register', refused: [400], send: req('POST', '/api/auth/register', { body: `{"email":"deep@example.com","password":${deep(5_000)},"name":"D"}` }) },
];

beforeAll(async () => {
  world = await startChaosWorld({ gateway: true });
  [ana, ben] = [await registerUser(world, 'chaos-ana'), await registerUser(world, 'chaos-ben')];
  const client = new pg.Client({ connectionString: world.platform.databases.auth });
  await client.connect();
  const { rows } = await client.query<{ kid: string; alg: string; private_jwk: Record<string, unknown> }>('SELECT kid, alg, private_jwk FROM signing_keys ORDER BY activates_at DESC LIMIT 1');
  await client.end();
  const { kid, alg, private_jwk: jwk } = rows[0]!;
  signingKey = { kid, alg, privateKey: (await importJWK(jwk, alg)) as TestKeys['privateKey'], publicJwk: {}, jwks: { keys: [] } };
});
afterAll(async () => {
  await world?.stop();
});

describe('attacks through the gateway', () => {
  test.each(ATTACKS)('$kind: when a client tries $name, then it is refused with a 4xx and no database changes', async (attack) => {
    const row = figure(`attack, ${attack.kind}: ${attack.name}`, `${attack.refused.join(' or ')}, databases unchanged`);
    const context: Context = {
      gatewayPort: world.platform.gateway!.port, ana, ben,
      forge: ({ expiresIn, ...claims }) => signTestToken(signingKey, { ...claims, expiresIn, issuer: 'hubspoke-auth', audience: 'hubspoke' }),
    };
    const before = await snapshot(world.platform.databases);
    const statuses = await attack.send(context);
    const changed = changedTables(before, await snapshot(world.platform.databases));
    const measured = `answered ${statuses.join(', ') || 'nothing'}; ${changed.length ? `changed ${changed.join(', ')}` : 'databases unchanged'}`;
    expect(row.measured(measured, statuses.length === 1 && attack.refused.includes(statuses[0]!) && changed.length === 0)).toBe(true);
  });
});
