import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveRegistryKey } from './credentials.js';
import { instanceRecordSchema } from './record-schema.js';
import type { InstanceRecord } from './types.js';

// Domain separation: a registry signature can never be replayed as a signature for another use of the key.
const CONTEXT = 'hubspoke.registry.v1\n';
// Records are a few kB; anything far larger is not ours and is not worth parsing.
const MAX_STORED_BYTES = 64 * 1024;
const MAX_SERVICE_LENGTH = 64;

export type RejectReason = 'unsigned' | 'bad-signature' | 'malformed' | 'expired';
export type VerifyResult = { ok: true; record: InstanceRecord } | { ok: false; reason: RejectReason };

function hmac(key: string, payload: string): Buffer {
  return createHmac('sha256', key).update(CONTEXT).update(payload).digest();
}

/**
 * The stored value: the record's exact JSON bytes and their HMAC-SHA256 under the service's own registry
 * key (`deriveRegistryKey`), so verification needs no canonical form.
 */
export function signRecord(record: InstanceRecord, serviceKey: string): string {
  const payload = JSON.stringify(record);
  return JSON.stringify({ v: 1, payload, sig: hmac(serviceKey, payload).toString('base64url') });
}

/**
 * Accepts a stored value only when it is signed with the key of the service it names (derived from
 * `masterKey`), well-formed and not past its heartbeat + TTL.
 */
export function verifyRecord(stored: string, masterKey: string, now = Date.now()): VerifyResult {
  if (stored.length > MAX_STORED_BYTES) return { ok: false, reason: 'malformed' };
  let envelope: unknown;
  try {
    envelope = JSON.parse(stored);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) return { ok: false, reason: 'malformed' };
  const { payload, sig } = envelope as Record<string, unknown>;
  if (typeof sig !== 'string') return { ok: false, reason: 'unsigned' };
  if (typeof payload !== 'string') return { ok: false, reason: 'malformed' };

  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  // The claimed service picks the key; the schema below checks the name's shape once the signature holds.
  const service = (parsed as { service?: unknown } | null)?.service;
  if (typeof service !== 'string' || service.length > MAX_SERVICE_LENGTH) return { ok: false, reason: 'malformed' };
  const expected = hmac(deriveRegistryKey(masterKey, service), payload);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };

  const result = instanceRecordSchema.safeParse(parsed);
  if (!result.success) return { ok: false, reason: 'malformed' };
  if (now > result.data.heartbeatAt + result.data.ttlMs) return { ok: false, reason: 'expired' };
  return { ok: true, record: result.data };
}
