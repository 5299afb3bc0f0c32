import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { signBody, verifyBodySignature } from '../src/outbound/hmac-signature.js';

const secret = 'webhook-secret-0123456789';
const now = 1_700_000_000_000;

describe('signBody / verifyBodySignature', () => {
  test('when a body is signed, then the header is t=<seconds>,v1=<HMAC-SHA256 of "t.body"> and it verifies', () => {
    const header = signBody(secret, '{"a":1}', now);
    const expected = createHmac('sha256', secret).update(`${now / 1000}.{"a":1}`).digest('hex');
    expect(header).toBe(`t=${now / 1000},v1=${expected}`);
    expect(verifyBodySignature(secret, '{"a":1}', header, { nowMs: now })).toBe(true);
  });

  test.each([
    ['another body', () => verifyBodySignature(secret, '{"a":2}', signBody(secret, '{"a":1}', now), { nowMs: now })],
    ['another secret', () => verifyBodySignature('other-secret-0123456789', '{"a":1}', signBody(secret, '{"a":1}', now), { nowMs: now })],
    ['an old timestamp (replay)', () => verifyBodySignature(secret, '{"a":1}', signBody(secret, '{"a":1}', now - 301_000), { nowMs: now })],
    ['a malformed header', () => verifyBodySignature(secret, '{"a":1}', 'v1=zz', { nowMs: now })],
  ])('when verified with %s, then it is refused', (_case, verify) => {
    expect(verify()).toBe(false);
  });
});
