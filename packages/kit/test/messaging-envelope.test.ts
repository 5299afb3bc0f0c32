import { describe, expect, test } from 'vitest';
import { createEnvelope, InvalidEnvelopeError, parseEnvelope, routingKeyOf, runWithContext } from '../src/index.js';
import { consumerQueues, matchesBinding, retryQueueFor } from '../src/messaging/topology.js';

describe('envelopes', () => {
  test('when created inside a request, then it carries that request id as correlation id and routes as <type>.v<version>', () => {
    const envelope = runWithContext({ requestId: 'req-42' }, () => createEnvelope({ source: 'user', type: 'user.registered', version: 2, payload: { userId: 'u1' } }));
    expect(envelope).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/), type: 'user.registered', version: 2, occurredAt: expect.any(String),
      source: 'user', correlationId: 'req-42', payload: { userId: 'u1' },
    });
    expect(routingKeyOf(envelope)).toBe('user.registered.v2');
  });

  test('when the type or version is malformed, then no envelope is created', () => {
    expect(() => createEnvelope({ source: 'user', type: 'User Registered', version: 1, payload: {} })).toThrow('type is not a dotted lower-case name');
    expect(() => createEnvelope({ source: 'user', type: 'user.registered', version: 1.5, payload: {} })).toThrow('version is not a positive integer');
    expect(() => createEnvelope({ source: 'user', type: `user.${'x'.repeat(300)}`, version: 1, payload: {} })).toThrow('type is longer than 200 characters');
  });

  test('when a message is parsed, then only the envelope fields are kept', () => {
    const envelope = createEnvelope({ source: 'user', type: 'user.registered', version: 1, payload: { a: 1 } });
    expect(parseEnvelope(Buffer.from(JSON.stringify({ ...envelope, extra: 'dropped' })))).toEqual(envelope);
  });

  test.each([
    ['NUL in a string', '{"payload":"a\\u0000b"}'],
    ['an array', '[]'],
    ['a correlation id that could inject into logs', JSON.stringify({ ...createEnvelope({ source: 'user', type: 'a.b', version: 1, payload: 1 }), correlationId: 'x\ny' })],
  ])('when a message holds %s, then parsing refuses it as an invalid envelope', (_case, body) => {
    expect(() => parseEnvelope(Buffer.from(body))).toThrow(InvalidEnvelopeError);
  });
});

describe('topology', () => {
  test('when binding patterns use * and #, then they match as RabbitMQ topic bindings do', () => {
    expect(matchesBinding('user.registered.v1', 'user.registered.v1')).toBe(true);
    expect(matchesBinding('user.registered.v1', 'user.registered.v2')).toBe(false);
    expect(matchesBinding('user.*.v1', 'user.deleted.v1')).toBe(true);
    expect(matchesBinding('user.*', 'user.deleted.v1')).toBe(false);
    expect(matchesBinding('#', 'user.deleted.v1')).toBe(true);
    expect(matchesBinding('user.#', 'user')).toBe(true);
    expect(matchesBinding('#.v1', 'notification.sent.v1')).toBe(true);
  });

  test('when a consumer is declared, then its queue names follow <prefix>.<service>.<name>, .dlq and one retry queue per delay, the last delay repeating, moved through <service>.requeue', () => {
    const queues = consumerQueues({ prefix: 'p1', service: 'user', name: 'registered', bindings: ['user.registered.v1'], retryDelaysMs: [1000, 5000] });
    expect(queues).toEqual({
      queue: 'p1.user.registered', requeue: 'p1.user.requeue', deadLetter: 'p1.user.registered.dlq', bindings: ['user.registered.v1'],
      retry: [{ queue: 'p1.user.registered.retry.1000ms', delayMs: 1000 }, { queue: 'p1.user.registered.retry.5000ms', delayMs: 5000 }],
      retryDelaysMs: [1000, 5000],
    });
    expect(consumerQueues({ prefix: '', service: 'user', name: 'x', bindings: [], retryDelaysMs: [1] }).queue).toBe('user.x');
    expect([1, 2, 3, 9].map((attempt) => retryQueueFor(queues, attempt).delayMs)).toEqual([1000, 5000, 5000, 5000]);
  });

  test('when a schedule repeats a delay, then it keeps its order (one queue per distinct delay, each attempt its own delay)', () => {
    const queues = consumerQueues({ prefix: 'p1', service: 'user', name: 'registered', bindings: [], retryDelaysMs: [200, 200, 1000, 200] });
    expect(queues.retry.map((r) => r.queue)).toEqual(['p1.user.registered.retry.200ms', 'p1.user.registered.retry.1000ms']);
    expect([1, 2, 3, 4, 5].map((attempt) => retryQueueFor(queues, attempt))).toEqual([
      { queue: 'p1.user.registered.retry.200ms', delayMs: 200 }, { queue: 'p1.user.registered.retry.200ms', delayMs: 200 },
      { queue: 'p1.user.registered.retry.1000ms', delayMs: 1000 }, { queue: 'p1.user.registered.retry.200ms', delayMs: 200 },
      { queue: 'p1.user.registered.retry.200ms', delayMs: 200 },
    ]);
  });
});
