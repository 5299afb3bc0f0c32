import type { Bus, Logger, Pool } from '@hubspoke/kit';
import { Counter, Gauge, type Registry } from 'prom-client';
import { REPORT_TYPES } from './domain/report-types.js';

/**
 * The business metrics, counted by each replica as it ingests (Prometheus sums the counters across
 * replicas). A counter moves when the bus reports an event handled and committed, never for a duplicate,
 * so a redelivery is not counted twice. The active-users gauge is read from the database at scrape time
 * and is the same on every replica: aggregate it with max, not sum.
 */
export function registerAnalyticsMetrics({ registry, bus, db, logger }: { registry: Registry; bus: Bus; db: Pool; logger: Logger }) {
  const signups = new Counter({ name: 'analytics_signups_total', help: 'Accounts registered (user.registered events ingested)', registers: [registry] });
  const logins = new Counter({ name: 'analytics_logins_total', help: 'Password logins (user.logged_in events ingested)', registers: [registry] });
  const notifications = new Counter({
    name: 'analytics_notifications_total', help: 'Notification outcomes ingested, by outcome (sent, failed)', labelNames: ['outcome'] as const, registers: [registry],
  });
  const expired = new Counter({
    name: 'analytics_events_expired_total', help: 'Events older than the retention when they arrived: neither stored nor counted', registers: [registry],
  });
  new Gauge({
    name: 'analytics_active_users', help: 'Distinct users active today (UTC), from the stored counts', registers: [registry],
    async collect() {
      try {
        const { rows } = await db.query<{ count: string }>(`SELECT sum(count) AS count FROM active_users_day WHERE day = (now() AT TIME ZONE 'UTC')::date`);
        this.set(Number(rows[0]?.count ?? 0));
      } catch (error) {
        // A scrape while Postgres is away keeps the last value rather than failing every metric.
        logger.warn({ err: error }, 'active users gauge not refreshed');
      }
    },
  });
  bus.on('consumed', ({ envelope, duplicate }) => {
    if (duplicate) return;
    if (envelope.type === REPORT_TYPES.signup) signups.inc();
    else if (envelope.type === REPORT_TYPES.login) logins.inc();
    else if (envelope.type === REPORT_TYPES.notificationSent) notifications.inc({ outcome: 'sent' });
    else if (envelope.type === REPORT_TYPES.notificationFailed) notifications.inc({ outcome: 'failed' });
  });
  return { onExpired: () => expired.inc() };
}
