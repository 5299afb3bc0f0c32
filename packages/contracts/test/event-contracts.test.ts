import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { z } from 'zod';
import { describe, expect, test } from 'vitest';
import * as contracts from '@hubspoke/contracts';
import { createEvent, InvalidEnvelopeError, parseEvent, type EventContract } from '@hubspoke/kit';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVICE_SOURCES = ['hub-orchestrator/src', ...readdirSync(join(ROOT, 'spokes')).map((name) => `spokes/${name}/src`)];

/** A valid payload per contract, so every contract is exercised by a build and a parse. */
const SAMPLES: Record<string, unknown> = {
  'user.registered.v1': { userId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e', email: 'ana@example.com', name: 'Ana', role: 'user' },
  'user.logged_in.v1': { userId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e' },
  'user.updated.v1': { userId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e', changes: { bio: null, preferences: { theme: 'dark' } } },
  'user.deleted.v1': { userId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e' },
  'notification.sent.v1': {
    notificationId: '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f', ownerId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e', channel: 'email', template: 'welcome', provider: 'smtp', attempts: 1,
  },
  'notification.failed.v1': {
    notificationId: '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f', ownerId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e', channel: 'sms', template: 'notice', reason: 'permanent', attempts: 1,
  },
  'job.created.v1': { jobId: '5d1c9a0e-3b7f-4e21-8c6d-9a8b7c6d5e4f', taskType: 'notification.send', creatorId: 'u-1', total: 200 },
  'job.finished.v1': {
    jobId: '5d1c9a0e-3b7f-4e21-8c6d-9a8b7c6d5e4f', taskType: 'notification.send', creatorId: 'u-1', status: 'partially_failed',
    total: 200, succeeded: 190, failed: 10, cancelled: 0, retries: 37, durationMs: 5400,
  },
};

/** Commands go to one service on the tasks exchange; their samples are exercised the same way. */
const COMMAND_SAMPLES: Record<string, unknown[]> = {
  'notification.send_account_email.v1': [
    {
      template: 'verify-email', userId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e', email: 'ana@example.com', name: 'Ana',
      link: 'https://app.example.com/account/verify-email#token=abc', expiresInMinutes: 1440,
    },
    {
      template: 'password-reset', userId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e', email: 'ana@example.com', name: 'Ana',
      link: 'https://app.example.com/account/reset-password#token=abc', expiresInMinutes: 30,
    },
    { template: 'password-changed', userId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e', email: 'ana@example.com', name: 'Ana' },
  ],
};
const ALL_CONTRACTS = [...contracts.EVENT_CONTRACTS, ...contracts.COMMAND_CONTRACTS];

describe('the event and command contracts', () => {
  test('when the package exports a contract, then it is in EVENT_CONTRACTS or COMMAND_CONTRACTS, once', () => {
    const exported = Object.values(contracts).filter(isContract);
    expect(new Set(ALL_CONTRACTS)).toEqual(new Set(exported));
    const keys = ALL_CONTRACTS.map((c) => c.routingKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('when a contract is a command, then it goes to the tasks exchange and no event list (which analytics reads) names it', () => {
    for (const command of contracts.COMMAND_CONTRACTS) {
      expect(command.exchange, command.routingKey).toBe('tasks');
      expect(contracts.eventContractFor(command.routingKey)).toBeUndefined();
    }
    for (const event of contracts.EVENT_CONTRACTS) expect('exchange' in event, event.routingKey).toBe(false);
  });

  test('when a producer builds each command, then its consumer parses the same payload back, and a link that is not http(s) is refused', () => {
    expect(Object.keys(COMMAND_SAMPLES).sort()).toEqual(contracts.COMMAND_CONTRACTS.map((c) => c.routingKey).sort());
    for (const contract of contracts.COMMAND_CONTRACTS) {
      for (const sample of COMMAND_SAMPLES[contract.routingKey]!) expect(parseEvent(contract, createEvent(contract, 'test', sample))).toEqual(sample);
    }
    const [verify] = COMMAND_SAMPLES['notification.send_account_email.v1'] as object[];
    expect(() => createEvent(contracts.SendAccountEmailV1, 'test', { ...verify, link: 'javascript:alert(1)' } as never)).toThrow(/does not match its contract/);
  });

  test('when a contract names its producer, then docs/events.md names the same one, and it is the hub or a spoke', () => {
    const rows = readFileSync(join(ROOT, 'docs/events.md'), 'utf8').matchAll(/^\| `([^`]+)`\s*\|\s*([^|\s]+)\s*\|/gm);
    const documented = Object.fromEntries([...rows].map(([, key, producer]) => [key!, producer!]));
    const services = ['hub', ...readdirSync(join(ROOT, 'spokes')).filter((dir) => dir.endsWith('-service')).map((dir) => dir.replace(/-service$/, ''))];
    for (const contract of contracts.EVENT_CONTRACTS) {
      expect(documented[contract.routingKey], contract.routingKey).toBe(contract.producer);
      expect(services, contract.routingKey).toContain(contract.producer);
    }
  });

  test('when a producer builds each contract, then its consumers parse the same payload back', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(contracts.EVENT_CONTRACTS.map((c) => c.routingKey).sort());
    for (const contract of contracts.EVENT_CONTRACTS) {
      const envelope = createEvent(contract, 'test', SAMPLES[contract.routingKey]);
      expect(parseEvent(contract, envelope), contract.routingKey).toEqual(SAMPLES[contract.routingKey]);
    }
  });

  test('when a payload field holds a user id, then its contract lists it in userFields (what consumers pseudonymise on user.deleted)', () => {
    // By name: a new contract's `recipientId` or `reviewerUserId` is a user unless its author says otherwise here.
    const NAMES_A_USER = /^(user|owner|creator|recipient|sender|author|actor|admin|reviewer|assignee)Ids?$|UserIds?$/;
    for (const contract of contracts.EVENT_CONTRACTS) {
      const fields = Object.keys((contract.payload as z.ZodObject).shape);
      expect(contract.userFields, contract.routingKey).toEqual(expect.arrayContaining(fields.filter((field) => NAMES_A_USER.test(field))));
      expect(fields, contract.routingKey).toEqual(expect.arrayContaining([...contract.userFields]));
      const sample = SAMPLES[contract.routingKey] as Record<string, unknown>;
      for (const field of contract.userFields) expect(typeof sample[field], `${contract.routingKey} ${field}`).toBe('string');
    }
  });

  test('when a producer adds a field, then consumers of the same version still parse it (additive change)', () => {
    const payload = { ...(SAMPLES['user.deleted.v1'] as object), reason: 'asked' };
    const envelope = { type: 'user.deleted', version: 1, payload };
    expect(parseEvent(contracts.UserDeletedV1, envelope)).toEqual(SAMPLES['user.deleted.v1']);
  });

  test('when a producer builds a payload its contract refuses, then nothing is built', () => {
    expect(() => createEvent(contracts.UserDeletedV1, 'test', { userId: 'not-a-uuid' })).toThrow(/user.deleted.v1 payload does not match its contract/);
  });

  test('when a consumer is handed another type or version, then it is an invalid envelope (dead-lettered)', () => {
    const envelope = createEvent(contracts.UserDeletedV1, 'test', SAMPLES['user.deleted.v1'] as never);
    expect(() => parseEvent(contracts.UserRegisteredV1, envelope)).toThrow(InvalidEnvelopeError);
    expect(() => parseEvent(contracts.UserDeletedV1, { ...envelope, version: 2 })).toThrow(/expected user.deleted.v1, got user.deleted.v2/);
  });
});

/**
 * The types make `createEvent` and `parseEvent` take a contract; these scans close every other door.
 * They read the syntax tree, so comments, line breaks and renamed imports change nothing.
 */
describe('the services use only the contracts', () => {
  const findings = SERVICE_SOURCES.flatMap((dir) => sourceFiles(join(ROOT, dir))).flatMap(bypassesIn);

  test('when the services are scanned, then every event published is built from a contract (no createEnvelope, no defineEvent, no hand-made envelope)', () => {
    expect(findings.filter((f) => f.rule !== 'reads a payload' && f.rule !== 'binds by a literal routing key')).toEqual([]);
  });

  test('when the services are scanned, then no consumer parses a payload with its own schema or binds to a key without a contract', () => {
    expect(findings.filter((f) => f.rule === 'reads a payload' || f.rule === 'binds by a literal routing key')).toEqual([]);
  });

  test('when a service bypasses a contract, then the scan names the file and the rule', () => {
    const source = [
      "import { createEnvelope as make, parsePayload } from '@hubspoke/kit';",
      "import * as kit from '@hubspoke/kit';",
      "const e = make({ source: 'x', type: 'a.b', version: 1, payload: {} });",
      'kit.defineEvent("a.b", 1, schema);',
      'const p = parsePayload(Schema, envelope); const q = envelope["payload"]; const r = envelope.payload;',
      'const statuses = JobFinishedV1.payload.shape.status.options;',
      "const bindings = ['user.deleted.v1'];",
    ].join('\n');
    expect(bypassesIn({ file: 'spokes/x/src/consumer.ts', text: source }).map((f) => f.rule)).toEqual([
      'builds an envelope without a contract', 'parses a payload without a contract',
      'builds an envelope by hand', 'defines a contract outside @hubspoke/contracts',
      'reads a payload', 'reads a payload', 'binds by a literal routing key',
    ]);
  });
});

function isContract(value: unknown): value is EventContract {
  return typeof value === 'object' && value !== null && 'routingKey' in value && 'payload' in value;
}

function sourceFiles(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => ({ file: relative(ROOT, join(dir, name)), text: readFileSync(join(dir, name), 'utf8') }));
}

const KIT_BYPASSES = new Map(Object.entries({
  createEnvelope: 'builds an envelope without a contract',
  parsePayload: 'parses a payload without a contract',
  defineEvent: 'defines a contract outside @hubspoke/contracts',
  defineCommand: 'defines a contract outside @hubspoke/contracts',
}));
const CONTRACT_NAME = /^[A-Z][A-Za-z0-9]*V\d+$/;
const ROUTING_KEY = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v\d+$/;

function bypassesIn({ file, text }: { file: string; text: string }): { file: string; rule: string }[] {
  const found: { file: string; rule: string }[] = [];
  const visit = (node: ts.Node): void => {
    const rule = ruleFor(node);
    if (rule) found.push({ file, rule });
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  return found;
}

function ruleFor(node: ts.Node): string | undefined {
  // Imported under any name, or used through a namespace import.
  if (ts.isImportSpecifier(node)) return KIT_BYPASSES.get((node.propertyName ?? node.name).text);
  // `JobFinishedV1.payload` is a contract's schema (e.g. its enum's options), not an envelope's payload.
  if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && CONTRACT_NAME.test(node.expression.text)) return undefined;
  if (ts.isPropertyAccessExpression(node)) return node.name.text === 'payload' ? 'reads a payload' : KIT_BYPASSES.get(node.name.text);
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && node.argumentExpression.text === 'payload') return 'reads a payload';
  if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'payload') return 'builds an envelope by hand';
  if (ts.isStringLiteralLike(node) && ROUTING_KEY.test(node.text)) return 'binds by a literal routing key';
  return undefined;
}
