import { randomUUID } from 'node:crypto';
import { InvalidEnvelopeError, validationFailed, withTransaction, type Envelope, type FieldProblem, type Logger, type Pool, type Queryable } from '@hubspoke/kit';
import { createEventRepository } from '../data/event-repository.js';
import { createForgottenUserRepository } from '../data/forgotten-user-repository.js';
import { recordOfEnvelope, userRefsOf } from './bus-event.js';
import { USER_DELETED_TYPE, type EventRecord } from './event-record.js';
import { retentionWindow } from './retention-window.js';

/** A client's clock may run this far ahead of ours. */
const CLIENT_CLOCK_SKEW_MS = 5 * 60_000;

export interface ClientEvent {
  id?: string;
  type: string;
  occurredAt?: Date;
  properties?: Record<string, unknown>;
}

export interface IngestionDeps {
  db: Pool;
  logger: Logger;
  retentionDays: number;
  /** An event older than the retention: it has no partition left, and is neither stored nor counted. */
  onExpired?: (origin: 'bus') => void;
}

/** Every way an event gets in: the bus consumer (every domain event) and POST /events (client events). */
export function createIngestion({ db, logger, retentionDays, onExpired }: IngestionDeps) {
  return {
    /**
     * One event off the bus, in the consumer's transaction (which also holds its dedupe record). A
     * user.deleted pseudonymises the user even when the event itself is too old to be stored.
     */
    async recordFromBus(tx: Queryable, envelope: Envelope): Promise<void> {
      const record = recordOfEnvelope(envelope);
      const window = retentionWindow(new Date(), retentionDays);
      if (record.occurredAt >= window.to) {
        throw new InvalidEnvelopeError(`occurredAt ${envelope.occurredAt} is past the last partition (${window.to.toISOString()}): the producer's clock is wrong`);
      }
      // First, so the event itself (and any other of the user's in flight) is stored under the pseudonym.
      if (record.type === USER_DELETED_TYPE && record.userId) {
        const rewritten = await createForgottenUserRepository(tx).forget(record.userId);
        logger.info({ events: rewritten }, 'user pseudonymised after user.deleted');
      }
      if (record.occurredAt < window.from) {
        logger.warn({ messageId: record.id, type: record.type, occurredAt: envelope.occurredAt }, 'event older than the retention: not stored');
        onExpired?.('bus');
        return;
      }
      await createEventRepository(tx).insert([record]);
    },

    /**
     * A client's batch, attributed to the caller and stored as `client.<type>`, all or nothing: any event
     * out of the retention window (or ahead of our clock) rejects the batch naming each one. An event whose
     * `id` was already stored is a duplicate (a client's retry), not stored again.
     */
    async recordFromClient(userId: string, events: readonly ClientEvent[]): Promise<{ accepted: number; duplicates: number }> {
      const now = new Date();
      const window = retentionWindow(now, retentionDays);
      const problems: FieldProblem[] = [];
      const records = events.map((event, index): EventRecord => {
        const occurredAt = event.occurredAt ?? now;
        if (occurredAt < window.from) problems.push({ field: `events.${index}.occurredAt`, problem: `is older than the retention (${window.from.toISOString()})` });
        if (occurredAt.getTime() > now.getTime() + CLIENT_CLOCK_SKEW_MS) problems.push({ field: `events.${index}.occurredAt`, problem: 'is in the future' });
        return {
          id: event.id ?? randomUUID(), occurredAt, type: `client.${event.type}`, version: 1, source: 'client', known: true, userId, userRefs: userRefsOf(userId), data: event.properties ?? {},
        };
      });
      if (problems.length > 0) throw validationFailed(problems);
      const accepted = await withTransaction(db, (tx) => createEventRepository(tx).insert(records));
      return { accepted, duplicates: records.length - accepted };
    },
  };
}

export type Ingestion = ReturnType<typeof createIngestion>;
