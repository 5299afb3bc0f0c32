import { randomUUID } from 'node:crypto';
import { currentRequestId } from '../context.js';
import { parseJsonStrict } from '../http/json-body.js';

/** Every message on the bus. A breaking payload change is a new version, not an edit. */
export interface Envelope<TType extends string = string, TPayload = unknown> {
  id: string;
  type: TType;
  version: number;
  occurredAt: string;
  source: string;
  correlationId: string;
  payload: TPayload;
}

export interface NewEnvelope<TType extends string, TPayload> {
  source: string;
  type: TType;
  version: number;
  payload: TPayload;
}

/** Thrown for a message that can never be handled, however often it is retried: it goes to the DLQ. */
export class InvalidEnvelopeError extends Error {
  override readonly name = 'InvalidEnvelopeError';
}

const TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PLAIN_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SOURCE = /^[a-z][a-z0-9-]{0,63}$/;
// The routing key `<type>.v<version>` is an AMQP short string (255 bytes); this leaves room for the version.
const MAX_TYPE_LENGTH = 200;
const MAX_DEPTH = 32;

/** A new envelope for this moment, correlated with the request or message being handled. */
export function createEnvelope<TType extends string, TPayload>(fields: NewEnvelope<TType, TPayload>): Envelope<TType, TPayload> {
  const envelope = {
    id: randomUUID(),
    type: fields.type,
    version: fields.version,
    occurredAt: new Date().toISOString(),
    source: fields.source,
    correlationId: currentRequestId() ?? randomUUID(),
    payload: fields.payload,
  };
  const problem = problemWith(envelope);
  if (problem) throw new Error(`cannot create envelope ${fields.type} v${fields.version}: ${problem}`);
  return envelope;
}

/** `user.registered` v1 travels as `user.registered.v1`, so consumers bind to the versions they read. */
export function routingKeyOf({ type, version }: Pick<Envelope, 'type' | 'version'>): string {
  return `${type}.v${version}`;
}

/**
 * Parses a message body into an envelope or throws InvalidEnvelopeError. The JSON rules are the HTTP
 * ones (depth cap, no NUL, no `__proto__`), so whatever a handler stores cannot fail Postgres later;
 * only the known fields are kept.
 */
export function parseEnvelope(content: Buffer): Envelope {
  let value: unknown;
  try {
    value = parseJsonStrict(content.toString('utf8'), MAX_DEPTH);
  } catch (error) {
    throw new InvalidEnvelopeError(`body is not acceptable JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidEnvelopeError('body is not an object');
  const raw = value as Record<string, unknown>;
  const envelope = {
    id: raw.id,
    type: raw.type,
    version: raw.version,
    occurredAt: raw.occurredAt,
    source: raw.source,
    correlationId: raw.correlationId,
    payload: raw.payload,
  };
  const problem = problemWith(envelope);
  if (problem) throw new InvalidEnvelopeError(problem);
  return envelope as Envelope;
}

function problemWith(e: Record<keyof Envelope, unknown>): string | undefined {
  if (typeof e.id !== 'string' || !UUID.test(e.id)) return 'id is not a UUID';
  if (typeof e.type !== 'string' || !TYPE.test(e.type)) return 'type is not a dotted lower-case name';
  if (e.type.length > MAX_TYPE_LENGTH) return `type is longer than ${MAX_TYPE_LENGTH} characters`;
  if (typeof e.version !== 'number' || !Number.isInteger(e.version) || e.version < 1 || e.version > 9999) return 'version is not a positive integer';
  if (typeof e.occurredAt !== 'string' || Number.isNaN(Date.parse(e.occurredAt))) return 'occurredAt is not a timestamp';
  if (typeof e.source !== 'string' || !SOURCE.test(e.source)) return 'source is not a service name';
  if (typeof e.correlationId !== 'string' || !PLAIN_ID.test(e.correlationId)) return 'correlationId is not a plain id';
  if (e.payload === undefined) return 'payload is missing';
  return undefined;
}
