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
  if (!contract) return { ...base, known: false, userId: null, data: {} };
  const parsed: unknown = parseEvent(contract, envelope);
  const data = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : { value: parsed };
  // Every contract that concerns a user names them `userId` (docs/events.md).
  return { ...base, known: true, userId: typeof data.userId === 'string' ? data.userId : null, data };
}
