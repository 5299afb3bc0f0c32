import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// Relative source imports: new:spoke runs this with plain tsx, where @hubspoke/kit would resolve to a build.
import { brokerAccess } from '../../packages/kit/src/messaging/access.js';
import { sharedTopology } from '../../packages/kit/src/messaging/topology.js';
import { redisAclRule } from '../../packages/kit/src/registry/acl.js';
import { readContract } from '../new-spoke/shared-files/contract-files.js';

/** The files the rabbitmq and redis containers render at start (data-config/render-secrets.sh fills in the passwords). */
export const BROKER_DEFINITIONS = 'data-config/rabbitmq/definitions.template.json';
export const REDIS_ACL = 'data-config/redis/users.template.acl';
const CONTRACT_DIRS = ['packages/contracts/src/events', 'packages/contracts/src/commands'];
/** Services that write the hub's access-token revocation list (kit auth/revocation.ts): logouts and deleted accounts. */
const REVOCATION_WRITERS = ['auth'];
const VHOST = '/';

export interface ServiceCredentials {
  /** The service's registry and queue name: `hub`, `auth`, `ledger-book`. */
  name: string;
  role: 'hub' | 'spoke';
  /** Routing keys of the event contracts naming it as producer. */
  produces: string[];
  /** Routing keys of the command contracts (on `tasks`) naming it as producer. */
  commands: string[];
}

/** `ledger-book` → `LEDGER_BOOK_RABBITMQ_PASSWORD` / `LEDGER_BOOK_REDIS_PASSWORD`, in .env and the containers' environment. */
export const passwordVariable = (service: string, store: 'RABBITMQ' | 'REDIS') => `${service.replaceAll('-', '_').toUpperCase()}_${store}_PASSWORD`;

/** The hub and every spoke directory, with the routing keys each produces, read from the contract files' source. */
export function readServices(root: string, extra: { name: string; produces: string[] }[] = []): ServiceCredentials[] {
  const contracts = CONTRACT_DIRS.flatMap((dir) => readdirSync(join(root, dir)).filter((file) => file.endsWith('.ts') && file !== 'index.ts')
    .map((file) => readContract(`${dir}/${file}`, readFileSync(join(root, dir, file), 'utf8'))));
  const spokes = readdirSync(join(root, 'spokes'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name.endsWith('-service')).map((entry) => entry.name.replace(/-service$/, ''));
  const names = [...new Set([...spokes, ...extra.map((e) => e.name)])].sort();
  const produced = (name: string) => [...new Set([
    ...contracts.filter((c) => c.producer === name && c.exchange === 'events').map((c) => c.routingKey),
    ...extra.filter((e) => e.name === name).flatMap((e) => e.produces),
  ])].sort();
  const commands = (name: string) => contracts.filter((c) => c.producer === name && c.exchange === 'tasks').map((c) => c.routingKey).sort();
  return [
    { name: 'hub', role: 'hub', produces: produced('hub'), commands: commands('hub') },
    ...names.map((name) => ({ name, role: 'spoke' as const, produces: produced(name), commands: commands(name) })),
  ];
}

/**
 * RabbitMQ definitions, loaded at every broker start: the operators' administrator, one user per service with the
 * permissions the kit's brokerAccess spells, and the shared topology (which services may use but not redeclare).
 */
export function brokerDefinitions(services: ServiceCredentials[]): string {
  const accesses = services.map((service) => ({ service, access: brokerAccess({ service: service.name, role: service.role, produces: service.produces, commands: service.commands }) }));
  const { exchanges, queues, bindings } = sharedTopology('');
  const definitions = {
    vhosts: [{ name: VHOST }],
    users: [
      { name: '${RABBITMQ_USER}', password: '${RABBITMQ_PASSWORD}', tags: 'administrator' },
      ...accesses.map(({ service, access }) => ({ name: access.user, password: `\${${passwordVariable(service.name, 'RABBITMQ')}}`, tags: access.tags.join(',') })),
    ],
    permissions: [
      { user: '${RABBITMQ_USER}', vhost: VHOST, configure: '.*', write: '.*', read: '.*' },
      ...accesses.map(({ access }) => ({ user: access.user, vhost: VHOST, configure: access.configure, write: access.write, read: access.read })),
    ],
    topic_permissions: accesses.flatMap(({ access }) => access.topic.map((topic) => ({ user: access.user, vhost: VHOST, ...topic }))),
    exchanges: exchanges.map(({ name, type, arguments: args }) => ({ name, vhost: VHOST, type, durable: true, auto_delete: false, internal: false, arguments: args })),
    queues: queues.map(({ name, arguments: args }) => ({ name, vhost: VHOST, durable: true, auto_delete: false, arguments: args })),
    bindings: bindings.map(({ source, destination, routingKey }) => ({ source, vhost: VHOST, destination, destination_type: 'queue', routing_key: routingKey, arguments: {} })),
  };
  return `${JSON.stringify(definitions, null, 2)}\n`;
}

/** The Redis ACL file: no default user, an operators' admin, the exporter's monitoring user, one user per service. */
export function redisAcl(services: ServiceCredentials[]): string {
  return [
    '# Generated by `npm run generate:credentials` (scripts/credentials) from the kit\'s registry/acl.ts: do not edit.',
    '# Each #${NAME} becomes the SHA-256 of the environment variable NAME when the redis container starts.',
    'user default off resetpass resetkeys resetchannels -@all',
    `user admin on #\${REDIS_ADMIN_PASSWORD} ${redisAclRule('admin', 'admin')}`,
    `user monitoring on #\${REDIS_MONITORING_PASSWORD} ${redisAclRule('monitoring', 'monitoring')}`,
    ...services.map(({ name, role }) => `user ${name} on #\${${passwordVariable(name, 'REDIS')}} ${redisAclRule(role, name, { revokes: REVOCATION_WRITERS.includes(name) })}`),
    '',
  ].join('\n');
}

/** Both files, as `npm run generate:credentials` writes them and new:spoke rewrites them for a new spoke. */
export function credentialTemplates(services: ServiceCredentials[]): [string, string][] {
  return [[BROKER_DEFINITIONS, brokerDefinitions(services)], [REDIS_ACL, redisAcl(services)]];
}
