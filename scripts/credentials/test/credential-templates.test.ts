import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { EVENT_CONTRACTS } from '@hubspoke/contracts';
import { credentialTemplates, passwordVariable, readServices } from '../credential-templates.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the credential templates (data-config/)', () => {
  test('when generated from the repository, then the committed files are what `npm run generate:credentials` writes', () => {
    for (const [file, text] of credentialTemplates(readServices(ROOT))) expect(readFileSync(join(ROOT, file), 'utf8'), `${file}: run npm run generate:credentials`).toBe(text);
  });

  test('when the services are read from the contract files\' source, then each produces exactly the contracts naming it', () => {
    const services = readServices(ROOT);
    expect(services.map((s) => s.name)).toEqual(expect.arrayContaining(['hub', 'auth', 'user', 'notification', 'analytics']));
    for (const service of services) {
      expect(service.produces, service.name).toEqual(EVENT_CONTRACTS.filter((c) => c.producer === service.name).map((c) => c.routingKey).sort());
    }
  });

  test('when a spoke is added with its event, then its users appear with only its routing key, and the others keep theirs', () => {
    const services = readServices(ROOT, [{ name: 'audit-trail', produces: ['audit_trail.item_created.v1'] }]);
    const [definitions, acl] = credentialTemplates(services).map(([, text]) => text) as [string, string];
    const parsed = JSON.parse(definitions) as { users: { name: string; password: string }[]; topic_permissions: { user: string; exchange: string; write: string }[] };
    expect(parsed.users).toContainEqual({ name: 'audit-trail', password: '${AUDIT_TRAIL_RABBITMQ_PASSWORD}', tags: '' });
    expect(parsed.topic_permissions).toContainEqual(expect.objectContaining({ user: 'audit-trail', exchange: 'events', write: '^(audit_trail\\.item_created\\.v1)$' }));
    expect(parsed.topic_permissions).toContainEqual(expect.objectContaining({ user: 'user', exchange: 'events', write: '^(user\\.deleted\\.v1|user\\.updated\\.v1)$' }));
    expect(acl).toMatch(/^user audit-trail on #\$\{AUDIT_TRAIL_REDIS_PASSWORD\} .*~registry:instance:audit-trail:\* /m);
    expect(passwordVariable('audit-trail', 'REDIS')).toBe('AUDIT_TRAIL_REDIS_PASSWORD');
  });
});
