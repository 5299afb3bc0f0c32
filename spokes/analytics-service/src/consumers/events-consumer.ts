import type { ConsumeOptions } from '@hubspoke/kit';
import type { AnalyticsContext } from '../service.js';

/**
 * `analytics.events`: every event on the exchange (`#`), each stored and counted once. The kit runs the
 * handler in one transaction with the dedupe record (by envelope id), so a redelivery changes nothing.
 * A payload its contract refuses, or a time past the partitions created ahead, is dead-lettered at once.
 */
export function eventsConsumer({ db, domain }: Pick<AnalyticsContext, 'db' | 'domain'>): ConsumeOptions {
  return {
    name: 'events',
    bindings: ['#'],
    db,
    handler: (envelope, tx) => domain.ingestion.recordFromBus(tx, envelope),
  };
}
