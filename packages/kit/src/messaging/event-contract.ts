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
  /**
   * The payload's top-level fields that hold a user id (`userId`, `ownerId`, `creatorId`, …): what a consumer
   * keeping events pseudonymises when that user is deleted. Declared with the contract, so no consumer has to
   * know each type's field names; `[]` when the event names no user.
   */
  userFields: readonly string[];
}

/** The fields of a payload whose value is a string (possibly optional): the only ones that can hold a user id. */
type StringField<T> = { [K in keyof T]-?: NonNullable<T[K]> extends string ? K : never }[keyof T] & string;

export type EventPayload<C extends EventContract> = z.output<C['payload']>;

/** What every contract declares besides its payload: who publishes it, and which fields name a user. */
export interface ContractFields<TSchema extends z.ZodType> {
  producer: string;
  userFields: readonly StringField<z.output<TSchema>>[];
}

export function defineEvent<TType extends string, TSchema extends z.ZodType>(
  type: TType, version: number, payload: TSchema, { producer, userFields }: ContractFields<TSchema>,
): EventContract<TType, TSchema> {
  return Object.freeze({ type, version, routingKey: routingKeyOf({ type, version }), payload, producer, userFields: Object.freeze([...userFields]) });
}

/**
 * A command: addressed to one service, on the `tasks` exchange (no alternate exchange, so a command no
 * queue takes fails to publish instead of being parked, and no `#` subscriber of the events exchange, such
 * as analytics, ever sees it). Built with `createEvent` and read with `parseEvent` like an event; producers
 * enqueue and consumers bind on `contract.exchange`.
 */
export interface CommandContract<TType extends string = string, TSchema extends z.ZodType = z.ZodType> extends EventContract<TType, TSchema> {
  exchange: 'tasks';
}

export function defineCommand<TType extends string, TSchema extends z.ZodType>(
  type: TType, version: number, payload: TSchema, fields: ContractFields<TSchema>,
): CommandContract<TType, TSchema> {
  return Object.freeze({ ...defineEvent(type, version, payload, fields), exchange: 'tasks' as const });
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
