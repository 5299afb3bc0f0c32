import type { z } from 'zod';
import { createEnvelope, InvalidEnvelopeError, routingKeyOf, type Envelope } from './envelope.js';
import { parsePayload } from './parse-payload.js';

/**
 * One version of one event type, written once (in @hubspoke/contracts): the producer builds with it,
 * every consumer parses with it and binds to its routing key.
 */
export interface EventContract<TType extends string = string, TSchema extends z.ZodType = z.ZodType> {
  type: TType;
  version: number;
  /** `<type>.v<version>`: what a consumer binds its queue to. */
  routingKey: string;
  /** Not strict: a producer may add a field without a new version, and consumers ignore what they do not read. */
  payload: TSchema;
  /** The one service that publishes it: its broker user alone may publish this routing key (data-config/rabbitmq). */
  producer: string;
}

export type EventPayload<C extends EventContract> = z.output<C['payload']>;

export function defineEvent<TType extends string, TSchema extends z.ZodType>(
  type: TType, version: number, payload: TSchema, { producer }: { producer: string },
): EventContract<TType, TSchema> {
  return Object.freeze({ type, version, routingKey: routingKeyOf({ type, version }), payload, producer });
}

/**
 * The producer's envelope for a contract. The payload is parsed with the contract first, so a producer
 * can never publish what its consumers would dead-letter, nor a field the contract does not name.
 */
export function createEvent<C extends EventContract>(contract: C, source: string, payload: z.input<C['payload']>): Envelope<C['type'], EventPayload<C>> {
  const result = contract.payload.safeParse(payload);
  if (!result.success) throw new Error(`${contract.routingKey} payload does not match its contract: ${result.error.message}`);
  return createEnvelope({ source, type: contract.type, version: contract.version, payload: result.data as EventPayload<C> });
}

/** A consumer's reading of an envelope with the contract it bound to; anything else is dead-lettered at once. */
export function parseEvent<C extends EventContract>(contract: C, envelope: Pick<Envelope, 'type' | 'version' | 'payload'>): EventPayload<C> {
  if (envelope.type !== contract.type || envelope.version !== contract.version) {
    throw new InvalidEnvelopeError(`expected ${contract.routingKey}, got ${routingKeyOf(envelope)}`);
  }
  return parsePayload(contract.payload, envelope) as EventPayload<C>;
}
