export { Bus, connectBus, type BusHealth, type BusOptions, type ConsumerHealth, type PublishOptions } from './bus.js';
export type { BusState } from './connection.js';
export { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAYS_MS, type AfterCommit, type ConsumeOptions, type MessageHandler } from './consumer.js';
export { createEnvelope, parseEnvelope, routingKeyOf, InvalidEnvelopeError, type Envelope, type NewEnvelope } from './envelope.js';
export type { BusEvents, BusEventName } from './events.js';
export { enqueue, enqueueAll, MESSAGING_MIGRATIONS_DIR, type EnqueueOptions } from './outbox.js';
export { startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
export type { PublishFailure } from './publisher.js';
export { busReadinessCheck } from './readiness.js';
export {
  declareEventsExchange, eventsExchange, resultsExchange, sharedTopology, tasksExchange, unroutedEvents, type ConsumerQueues, type ExchangeKind, type QueueType, type SharedTopology,
} from './topology.js';
export { parsePayload } from './parse-payload.js';
export { createEvent, defineCommand, defineEvent, parseEvent, type CommandContract, type EventContract, type EventPayload } from './event-contract.js';
export { brokerAccess, type BrokerAccess, type BrokerAccessSpec } from './access.js';
export { deadLetterQueues, replayDeadLetters, type DeadLetter, type DeadLetterQueue, type ReplayReport } from './dead-letters.js';
