import { eventContractFor } from '@hubspoke/contracts';
import { parseEvent, routingKeyOf, type Envelope } from '@hubspoke/kit';
import type { EventRecord } from './event-record.js';

/**
 * An envelope from the bus as a record. Its contract (looked up by type and version in EVENT_CONTRACTS)
 * parses the payload: a payload its contract refuses throws InvalidEnvelopeError (dead-lettered). A type
 * and version with no contract (a producer deployed ahead of this spoke's contracts) is still stored and
 * counted, as `known: false` with no payload: nothing unvalidated, and nothing personal, is kept.
 */
export function recordOfEnvelope(envelope: Envelope): EventRecord {
  const base = {
    id: envelope.id, occurredAt: new Date(envelope.occurredAt), type: envelope.type, version: envelope.version, source: envelope.source,
  };
  const contract = eventContractFor(routingKeyOf(envelope));
  if (!contract) return { ...base, known: false, userId: null, userRefs: [], data: {} };
  const parsed: unknown = parseEvent(contract, envelope);
  const data = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : { value: parsed };
  // The user an event is about or came from is its `userId` (docs/events.md); others it names (a job's creator,
  // a notification's owner) are in its contract's userFields, and are not counted as active.
  const userId = typeof data.userId === 'string' ? data.userId : null;
  return { ...base, known: true, userId, userRefs: userRefsOf(userId, contract.userFields.map((field) => data[field])), data };
}

/** The distinct user ids among `values`, lower-case (a uuid's text form, as `forgotten_users` hashes it). */
export function userRefsOf(...values: unknown[]): string[] {
  return [...new Set(values.flat().filter((value): value is string => typeof value === 'string').map((id) => id.toLowerCase()))];
}
