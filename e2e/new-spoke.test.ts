import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { deriveRegistryKey } from '@hubspoke/kit';
import {
  createTestDatabase, createTestKeys, deleteTestTopology, eventually, freePort, signTestToken, spawnService, testAmqpUrl, testRedisUrl,
  testRegistryKey, uniquePrefix, TEST_AUDIENCE, TEST_ISSUER, type ServiceProcess, type TestDatabase, type TestKeys,
} from '@hubspoke/kit/testing';
import { startHubProcess, startJwksServer, type HubProcess } from '../hub-orchestrator/test/support/hub-process.js';
import { nextPort, readRepoFacts } from '../scripts/new-spoke/repo-facts.js';
import { composeCommand, type ComposeConfig } from './support/compose.js';
import { copyRepository, type RepoCopy } from './support/repo-copy.js';

// A hyphenated name with its own prefix: every spelling (directory, identifiers, database, event type) is exercised.
const NAME = 'ledger-book';
const PREFIX = 'ledgers';
const DIR = `spokes/${NAME}-service`;
const GENERATOR = 'scripts/new-spoke/main.ts';
const EVENTS_DIR = 'packages/contracts/src/events';
const CONTRACT = `${EVENTS_DIR}/${NAME}-item-created.ts`;
const SHARED_FILES = ['tsconfig.json', 'Dockerfile', 'docker-compose.yml', 'docker-compose.dev.yml', 'docker-compose.prod.yml',
  'init-scripts/01-service-databases.sh', '.env.example', 'package.json', `${EVENTS_DIR}/index.ts`,
  'packages/contracts/test/event-contracts.test.ts', 'docs/events.md', 'data-config/rabbitmq/definitions.template.json', 'data-config/redis/users.template.acl'];

let repo: RepoCopy;
/** The port the spoke should get: the one after the highest the copy uses before generating. */
let port: number;

beforeAll(() => {
  repo = copyRepository();
  port = nextPort(readRepoFacts(repo.root));
}, 60_000);
afterAll(() => repo?.remove());

/** What a failed run must leave untouched: the shared files, the spokes and the event contracts present. */
const snapshot = () => ({
  spokes: readdirSync(join(repo.root, 'spokes')).sort(),
  contracts: readdirSync(join(repo.root, EVENTS_DIR)).sort(),
  files: Object.fromEntries(SHARED_FILES.map((file) => [file, readFileSync(join(repo.root, file), 'utf8')])),
});
const generate = (...args: string[]) => repo.runTs(GENERATOR, [...args, '--skip-install']);
const read = (file: string) => readFileSync(join(repo.root, file), 'utf8');
const masterKey = () => /^REGISTRY_MASTER_KEY=(.+)$/m.exec(read('.env.example'))?.[1] ?? '';

function composeConfig(...files: string[]): ComposeConfig {
  const [command, ...args] = composeCommand();
  const output = execFileSync(command!, [...args, '--env-file', '.env.example', ...files.flatMap((f) => ['-f', f]), 'config'], { cwd: repo.root, encoding: 'utf8' });
  return parse(output) as ComposeConfig;
}

describe('npm run new:spoke', () => {
  test.each([
    [['Ledger_Book'], /is not a spoke name/],
    [['user'], /is reserved/],
    [['auth-service'], /is reserved|leave out "-service"/],
    [['billing', '--prefix', 'users'], /route prefix "users" is taken/],
    [['billing', '--prefix', 'hub'], /is reserved/],
    [[], /expected one spoke name/],
  ])('when the input is %j, then it exits 1 with one line saying why and writes nothing', async (args, reason) => {
    const before = snapshot();
    const result = await repo.runTs(GENERATOR, args);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')[0]).toMatch(reason);
    expect(snapshot()).toEqual(before);
  }, 30_000);

  test('when its event contract\'s file exists already, then it exits 1 naming the file and writes nothing', async () => {
    const orphan = join(repo.root, EVENTS_DIR, 'orphan-item-created.ts');
    writeFileSync(orphan, '// left behind by a spoke that was removed\n');
    try {
      const before = snapshot();
      const result = await generate('orphan');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/orphan-item-created\.ts already exists/);
      expect(snapshot()).toEqual(before);
    } finally {
      rmSync(orphan);
    }
  }, 30_000);

  test('when a spoke is generated, then it has the real spokes\' shape and every shared file lists it', async () => {
    const result = await generate(NAME, '--prefix', PREFIX);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Next:[\s\S]*create-service-database\.sh ledger_book ledger_book/);
    for (const path of ['package.json', 'tsconfig.json', 'README.md', 'migrations/0001_create_items.sql', 'src/config.ts', 'src/service.ts', 'src/app.ts',
      'src/main.ts', 'src/routes/item-routes.ts', 'src/routes/item-input.ts', 'src/routes/item-schemas.ts', 'src/domain/item-service.ts',
      'src/domain/item-events.ts', 'src/data/item-repository.ts', 'src/consumers/user-deleted-consumer.ts', 'test/item-api.test.ts',
      `test/${NAME}-api-contract.test.ts`, `test/support/${NAME}-harness.ts`]) {
      expect(existsSync(join(repo.root, DIR, path)), path).toBe(true);
    }
    expect(read(`${DIR}/src/config.ts`)).toContain(`port: ${port}`);
    expect(read(`${DIR}/src/service.ts`)).toContain(`routePrefix: '${PREFIX}'`);
    expect(read(`${DIR}/src/app.ts`)).toMatch(/api: apiRoutes\(\{[\s\S]*validateResponses: config\.validateResponses/);
    expect(JSON.parse(read(`${DIR}/package.json`)).dependencies).toHaveProperty('@hubspoke/contracts');
    expect(JSON.parse(read(`${DIR}/tsconfig.json`)).references).toContainEqual({ path: '../../packages/contracts' });

    // Its event is a contract in @hubspoke/contracts, listed wherever contracts are.
    expect(read(CONTRACT)).toContain("export const LedgerBookItemCreatedV1 = defineEvent('ledger_book.item_created', 1,");
    expect(read(`${DIR}/src/domain/item-events.ts`)).toContain('createEvent(LedgerBookItemCreatedV1,');
    const index = read(`${EVENTS_DIR}/index.ts`);
    expect(index).toContain("import { LedgerBookItemCreatedV1 } from './ledger-book-item-created.js';\n");
    expect(index).toContain("export * from './ledger-book-item-created.js';\n");
    expect(index).toMatch(/EVENT_CONTRACTS[^=]*= \[[^\]]*, LedgerBookItemCreatedV1\]/);
    expect(read('packages/contracts/test/event-contracts.test.ts')).toMatch(/^ {2}'ledger_book\.item_created\.v1': \{ itemId: /m);
    const doc = read('docs/events.md');
    expect(doc).toMatch(/^\| `ledger_book\.item_created\.v1` \| ledger-book +\| — +\|$/m);
    // Joins the consumers already listed, last.
    expect(doc).toMatch(/^\| `user\.deleted\.v1` +\| user +\| auth, [^|]*ledger-book +\|$/m);

    expect((JSON.parse(read('tsconfig.json')) as { references: { path: string }[] }).references).toContainEqual({ path: DIR });
    expect(read('Dockerfile')).toContain(`COPY ${DIR}/package.json ${DIR}/\n`);
    expect(read('init-scripts/01-service-databases.sh')).toContain('create ledger_book ledger_book "${LEDGER_BOOK_DB_PASSWORD:?');
    expect(read('.env.example')).toMatch(/^# .*\nLEDGER_BOOK_DB_PASSWORD=changeme-/m);
    // Prometheus finds it through the hub's registry: monitoring/prometheus.yml is left as it is.
    expect(read('monitoring/prometheus.yml')).not.toContain(NAME);

    const base = composeConfig('docker-compose.yml');
    expect(base.services['spoke-ledger-book']).toMatchObject({
      build: { target: 'service', args: { SERVICE_DIR: DIR, SERVICE_PORT: String(port) } },
      image: 'hubspoke/ledger-book-service:dev',
      environment: {
        DATABASE_URL: 'postgres://ledger_book:changeme-ledger-book-db-password@postgres:5432/ledger_book', REGISTRY_KEY: deriveRegistryKey(masterKey(), NAME),
        REDIS_URL: 'redis://ledger-book:changeme-ledger-book-redis-password@redis:6379', AMQP_URL: 'amqp://ledger-book:changeme-ledger-book-rabbitmq-password@rabbitmq:5672',
      },
      depends_on: { postgres: { condition: 'service_healthy' } },
    });
    expect(base.services.postgres!.environment).toHaveProperty('LEDGER_BOOK_DB_PASSWORD');
    expect(base.services.redis!.environment).toHaveProperty('LEDGER_BOOK_REDIS_PASSWORD');
    expect(base.services.rabbitmq!.environment).toHaveProperty('LEDGER_BOOK_RABBITMQ_PASSWORD');
    // Its broker user may publish its own event only; its Redis user writes its own registry records only.
    expect(read('data-config/rabbitmq/definitions.template.json')).toContain('"write": "^(ledger_book\\\\.item_created\\\\.v1)$"');
    expect(read('data-config/redis/users.template.acl')).toMatch(/^user ledger-book on #\$\{LEDGER_BOOK_REDIS_PASSWORD\} .*~registry:instance:ledger-book:\* /m);
    const dev = composeConfig('docker-compose.yml', 'docker-compose.dev.yml').services['spoke-ledger-book']!;
    expect(dev).toMatchObject({ build: { target: 'dev', args: { SERVICE_DIR: DIR } }, image: 'hubspoke/ledger-book-service:dev-source' });
    expect(JSON.stringify(dev.volumes)).toContain(`/app/${DIR}/src`);
    expect(composeConfig('docker-compose.yml', 'docker-compose.prod.yml').services['spoke-ledger-book']).toMatchObject({ read_only: true, cap_drop: ['ALL'] });
  }, 60_000);

  test('when the spoke exists already, then generating it again exits 1 and writes nothing', async () => {
    const before = snapshot();
    const result = await generate(NAME);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${DIR} already exists`));
    expect(snapshot()).toEqual(before);
  }, 30_000);

  test('when type-checked, then the generated spoke compiles against the kit and the contracts', () => {
    repo.linkWorkspaces();
    // tsc -b builds the kit reference first (or finds the copied build up to date).
    execFileSync(process.execPath, [join(repo.root, 'node_modules/typescript/bin/tsc'), '-b', DIR], { cwd: repo.root, stdio: 'pipe' });
    expect(existsSync(join(repo.root, DIR, 'dist/main.js'))).toBe(true);
  }, 120_000);

  test('when its own tests, the contracts\' tests, the compose variable check and the linter run, then all pass as generated', async () => {
    const tool = (path: string, args: string[]) => repo.runJs(join('node_modules', path), args);
    // e2e/service-env.test.ts reads the new spoke's loadConfig: every variable it reads must reach it through compose. The
    // contracts' tests build and parse every contract (the new one too) and scan the spoke's sources for any bypass of them.
    // The credentials test finds data-config's templates as `npm run generate:credentials` would write them.
    const [tests, lint] = await Promise.all([
      tool('vitest/vitest.mjs', ['run', DIR, 'packages/contracts', 'e2e/service-env.test.ts', 'scripts/credentials']),
      tool('eslint/bin/eslint.js', [DIR, EVENTS_DIR]),
    ]);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/Tests\s+\S*\d+ passed/);
    expect(lint.code, lint.stdout).toBe(0);
  }, 90_000);

  describe('started next to a hub', () => {
    const prefix = uniquePrefix('new-spoke');
    let keys: TestKeys;
    let jwks: Awaited<ReturnType<typeof startJwksServer>>;
    let hub: HubProcess;
    let spoke: ServiceProcess;
    let database: TestDatabase;

    beforeAll(async () => {
      keys = await createTestKeys();
      jwks = await startJwksServer(keys);
      database = await createTestDatabase('new_spoke');
      const spokePort = await freePort();
      [hub] = await Promise.all([
        startHubProcess({ keyPrefix: `${prefix}:`, jwksUrl: jwks.url }),
        (async () => {
          spoke = spawnService(join(repo.root, DIR, 'src/main.ts'), {
            PORT: String(spokePort), PUBLIC_URL: `http://127.0.0.1:${spokePort}`, DATABASE_URL: database.url, REDIS_URL: testRedisUrl(), REGISTRY_KEY: testRegistryKey(NAME),
            REGISTRY_KEY_PREFIX: `${prefix}:`, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: TEST_ISSUER,
            AUTH_AUDIENCE: TEST_AUDIENCE, DRAIN_DELAY_MS: '0', LOG_LEVEL: 'warn',
          });
        })(),
      ]);
    }, 60_000);

    afterAll(async () => {
      for (const process of [spoke, hub?.process]) {
        if (!process || process.child.exitCode !== null || process.child.signalCode !== null) continue;
        process.child.kill('SIGTERM');
        await process.exited;
      }
      await jwks?.close();
      await hub?.cleanup();
      await database?.drop();
      await deleteTestTopology(prefix, [`${prefix}.${NAME}.user-deleted`]);
    }, 30_000);

    const api = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(`${hub.url}/api/${PREFIX}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
    };

    test('when it registers, then the hub routes /api/<prefix>/* to it with no hub or gateway edit', async () => {
      const owner = await signTestToken(keys, { sub: 'owner-1', role: 'user' });
      // Until the spoke's record reaches the hub, the hub itself answers (no route).
      const listed = await eventually(async () => {
        const res = await api('GET', '/', owner);
        return res.status === 200 ? res : undefined;
      }, 30_000, 200);
      expect(listed.body).toEqual({ items: [], nextCursor: null });

      const created = await api('POST', '/', owner, { title: 'Through the hub' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ ownerId: 'owner-1', title: 'Through the hub' });
      expect((await api('GET', `/${String(created.body.id)}`, owner)).body).toEqual(created.body);

      const stranger = await signTestToken(keys, { sub: 'someone-else', role: 'user' });
      const hidden = await api('GET', `/${String(created.body.id)}`, stranger);
      expect({ status: hidden.status, code: hidden.body.error?.code }).toEqual({ status: 404, code: 'LEDGER_BOOK.ITEM_NOT_FOUND' });
      expect((await api('POST', '/', owner, { title: '' })).body.error?.code).toBe('REQUEST.VALIDATION_FAILED');
      expect((await api('GET', '/')).status).toBe(401);
    }, 60_000);

    test('when it registers, then the hub\'s API reference holds its routes under /api/<prefix>', async () => {
      const paths = await eventually(async () => {
        const document = (await (await fetch(`${hub.url}/api/hub/openapi.json`)).json()) as { paths: Record<string, unknown> };
        return `/api/${PREFIX}/{id}` in document.paths ? Object.keys(document.paths) : undefined;
      }, 30_000, 200);
      expect(paths).toEqual(expect.arrayContaining([`/api/${PREFIX}`, `/api/${PREFIX}/{id}`]));
    }, 60_000);
  });
});
