import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { addToComposeBase, addToComposeFile } from '../shared-files/compose-files.js';
import { deriveRegistryKey } from '../../../packages/kit/src/registry/credentials.js';
import { addProjectReference, addServiceDatabase, addSpokeVariables, addToDockerfile } from '../shared-files/text-files.js';
import { spokeNames } from '../spoke-names.js';

// These files are edited by others too: the edits place the spoke by structure, whatever else changed.
const names = spokeNames('invoice', 'invoices', 3005);

const BASE = `x-env: &service-env
  LOG_LEVEL: info

services:
  spoke-auth:
    image: hubspoke/auth-service:dev
    environment:
      <<: *service-env
      DATABASE_URL: postgres://auth:\${AUTH_DB_PASSWORD}@postgres:5432/auth

  spoke-user:
    # a comment that travels with the block
    build: { context: ., target: service, args: { SERVICE_DIR: spokes/user-service, SERVICE_PORT: "3002" } }
    image: hubspoke/user-service:\${HUBSPOKE_VERSION:-dev}
    environment:
      <<: *service-env
      USER_ONLY_SETTING: "7"
      REDIS_URL: redis://user:\${USER_REDIS_PASSWORD}@redis:6379
      AMQP_URL: amqp://user:\${USER_RABBITMQ_PASSWORD}@rabbitmq:5672
      DATABASE_URL: postgres://users:\${USER_DB_PASSWORD}@postgres:5432/users
      REGISTRY_KEY: \${USER_REGISTRY_KEY}
    depends_on:
      postgres: { condition: service_healthy }

  postgres:
    environment:
      USER_DB_PASSWORD: \${USER_DB_PASSWORD}
      NEW_VARIABLE_SOMEONE_ADDED: "x"

  redis:
    environment:
      USER_REDIS_PASSWORD: \${USER_REDIS_PASSWORD}

  rabbitmq:
    environment:
      USER_RABBITMQ_PASSWORD: \${USER_RABBITMQ_PASSWORD}
`;

describe('compose files', () => {
  test('when the base is edited, then the new service copies spoke-user with its own port, image, database, broker and Redis users, and nothing else moves', () => {
    const edited = addToComposeBase(BASE, names, 'docker-compose.yml');
    const config = parse(edited, { merge: true }) as { services: Record<string, { environment: Record<string, string>; build: unknown; image: string }> };
    expect(config.services['spoke-invoice']).toEqual({
      build: { context: '.', target: 'service', args: { SERVICE_DIR: 'spokes/invoice-service', SERVICE_PORT: '3005' } },
      image: 'hubspoke/invoice-service:${HUBSPOKE_VERSION:-dev}',
      environment: {
        LOG_LEVEL: 'info', DATABASE_URL: 'postgres://invoice:${INVOICE_DB_PASSWORD}@postgres:5432/invoice',
        REDIS_URL: 'redis://invoice:${INVOICE_REDIS_PASSWORD}@redis:6379', AMQP_URL: 'amqp://invoice:${INVOICE_RABBITMQ_PASSWORD}@rabbitmq:5672',
        REGISTRY_KEY: '${INVOICE_REGISTRY_KEY}',
      },
      depends_on: { postgres: { condition: 'service_healthy' } },
    });
    expect(config.services.postgres!.environment).toEqual({ USER_DB_PASSWORD: '${USER_DB_PASSWORD}', INVOICE_DB_PASSWORD: '${INVOICE_DB_PASSWORD}', NEW_VARIABLE_SOMEONE_ADDED: 'x' });
    // Only additions: without the new block and line, the file is byte for byte what it was.
    expect(config.services.redis!.environment).toEqual({ USER_REDIS_PASSWORD: '${USER_REDIS_PASSWORD}', INVOICE_REDIS_PASSWORD: '${INVOICE_REDIS_PASSWORD}' });
    expect(config.services.rabbitmq!.environment).toEqual({ USER_RABBITMQ_PASSWORD: '${USER_RABBITMQ_PASSWORD}', INVOICE_RABBITMQ_PASSWORD: '${INVOICE_RABBITMQ_PASSWORD}' });
    const added = ['INVOICE_DB_PASSWORD', 'INVOICE_REDIS_PASSWORD', 'INVOICE_RABBITMQ_PASSWORD'].map((v) => `${' '.repeat(6)}${v}: \${${v}}\n`);
    expect(added.reduce((text, line) => text.replace(line, ''), edited.replace(/ {2}spoke-invoice:\n[\s\S]*?\n\n/, ''))).toBe(BASE);
    expect(edited).toContain('  spoke-invoice:\n    # a comment that travels with the block\n');
  });

  test('when an override mounts sources in the service itself, then the new service mounts its own', () => {
    const override = `services:
  spoke-user:
    working_dir: /app/spokes/user-service
    volumes:
      - ./spokes/user-service/src:/app/spokes/user-service/src:ro
  postgres:
    ports: ["127.0.0.1:55432:5432"]
`;
    const config = parse(addToComposeFile(override, names, 'docker-compose.dev.yml')) as { services: Record<string, unknown> };
    expect(config.services['spoke-invoice']).toEqual({ working_dir: '/app/spokes/invoice-service', volumes: ['./spokes/invoice-service/src:/app/spokes/invoice-service/src:ro'] });
    expect(Object.keys(config.services)).toEqual(['spoke-user', 'spoke-invoice', 'postgres']);
  });

  test('when an override mounts every spoke\'s sources in a shared anchor, then the anchor gains the new spoke\'s after the last spoke', () => {
    const override = `x-dev: &dev
  volumes:
    - ./packages/kit/src:/app/packages/kit/src:ro
    - ./spokes/user-service/src:/app/spokes/user-service/src:ro
    - ./spokes/other-service/src:/app/spokes/other-service/src:ro
    - ./scratch:/scratch
`;
    expect((parse(addToComposeFile(override, names, 'docker-compose.dev.yml')) as { 'x-dev': { volumes: string[] } })['x-dev'].volumes).toEqual([
      './packages/kit/src:/app/packages/kit/src:ro',
      './spokes/user-service/src:/app/spokes/user-service/src:ro',
      './spokes/other-service/src:/app/spokes/other-service/src:ro',
      './spokes/invoice-service/src:/app/spokes/invoice-service/src:ro',
      './scratch:/scratch',
    ]);
  });

  test('when a file lists no spoke, then it comes back unchanged', () => {
    const tls = 'services:\n  hub-gateway:\n    ports: ["8443:443"]\n';
    expect(addToComposeFile(tls, names, 'docker-compose.tls.yml')).toBe(tls);
  });

  test('when the base has no spoke-user, then the error names the file and what is missing', () => {
    expect(() => addToComposeBase('services:\n  postgres: {}\n', names, 'docker-compose.yml')).toThrow(/docker-compose.yml: no spoke-user service/);
  });
});

describe('text files', () => {
  test('when the Dockerfile copies manifests in two stages, then both gain the new one after their last spoke', () => {
    const dockerfile = ['FROM node AS deps', 'COPY spokes/user-service/package.json spokes/user-service/', 'RUN npm ci',
      'FROM deps AS dev', 'COPY spokes/auth-service/package.json spokes/auth-service/', 'COPY spokes/user-service/package.json spokes/user-service/', 'CMD x'].join('\n');
    expect(addToDockerfile(dockerfile, names, 'Dockerfile').split('\n').filter((line) => line.includes('invoice'))).toEqual([
      'COPY spokes/invoice-service/package.json spokes/invoice-service/', 'COPY spokes/invoice-service/package.json spokes/invoice-service/',
    ]);
  });

  test('when the last spoke reference is not the last reference, then the new one follows it and the JSON stays valid', () => {
    const tsconfig = '{\n  "references": [\n    { "path": "spokes/user-service" },\n    { "path": "tools" }\n  ]\n}\n';
    expect(JSON.parse(addProjectReference(tsconfig, names, 'tsconfig.json')).references).toEqual([
      { path: 'spokes/user-service' }, { path: 'spokes/invoice-service' }, { path: 'tools' },
    ]);
  });

  test('when init-scripts and .env.example gained lines after the databases, then the new ones land with the databases', () => {
    const init = 'create users users "${USER_DB_PASSWORD:?USER_DB_PASSWORD is missing}"\necho done\n';
    expect(addServiceDatabase(init, names, 'init')).toBe(`create users users "\${USER_DB_PASSWORD:?USER_DB_PASSWORD is missing}"\ncreate invoice invoice "\${INVOICE_DB_PASSWORD:?INVOICE_DB_PASSWORD is missing}"\necho done\n`);
    const env = [
      'REGISTRY_MASTER_KEY=changeme-master-0123456789abcdef', 'USER_REGISTRY_KEY=k', 'LOG_LEVEL=info', 'USER_DB_PASSWORD=changeme-user',
      'REDIS_ADMIN_PASSWORD=changeme-redis', 'USER_REDIS_PASSWORD=changeme-user-redis', 'GRAFANA=x', '',
    ].join('\n');
    const edited = addSpokeVariables(env, names, '.env.example');
    expect(edited).toMatch(new RegExp([
      '\nUSER_DB_PASSWORD=changeme-user\n# .*\nINVOICE_DB_PASSWORD=changeme-invoice-db-password\nREDIS_ADMIN_PASSWORD=changeme-redis\n',
      'USER_REDIS_PASSWORD=changeme-user-redis\n# .*\nINVOICE_RABBITMQ_PASSWORD=changeme-invoice-rabbitmq-password\n# .*\nINVOICE_REDIS_PASSWORD=changeme-invoice-redis-password\nGRAFANA=x\n$',
    ].join('')));
    // Its own registry key, derived from the file's master key as `npm run registry:key -- invoice` would.
    const key = deriveRegistryKey('changeme-master-0123456789abcdef', 'invoice');
    expect(edited).toContain(`USER_REGISTRY_KEY=k\n# Registry key of the invoice spoke, derived from REGISTRY_MASTER_KEY: \`npm run registry:key -- invoice\`.\nINVOICE_REGISTRY_KEY=${key}\nLOG_LEVEL=`);
  });

  test('when .env.example has no REGISTRY_MASTER_KEY, then the edit refuses rather than invent a key', () => {
    expect(() => addSpokeVariables('USER_DB_PASSWORD=x\nUSER_REGISTRY_KEY=k\nUSER_REDIS_PASSWORD=y\n', names, '.env.example')).toThrow(/no REGISTRY_MASTER_KEY to derive INVOICE_REGISTRY_KEY/);
  });
});
