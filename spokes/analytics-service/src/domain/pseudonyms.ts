import type { EventRecord } from './event-record.js';

/**
 * A record as it is kept once users it names are forgotten (`pseudonyms`: lower-case id → pseudonym). An
 * event a forgotten user is the subject of (`userId`) keeps no data, as their own events may carry personal
 * fields (an email, a profile change); in an event that only names them (a job's creator, a notification's
 * owner), each top-level value holding their id becomes the pseudonym and the rest stays, so its counts (a
 * job's status) are rebuilt the same. forgotten-user-repository.ts applies this rule to stored rows.
 */
export function pseudonymised(record: EventRecord, pseudonyms: ReadonlyMap<string, string>): EventRecord {
  if (!record.userRefs.some((id) => pseudonyms.has(id))) return record;
  const swap = (value: unknown) => (typeof value === 'string' ? pseudonyms.get(value.toLowerCase()) ?? value : value);
  const userRefs = record.userRefs.map((id) => pseudonyms.get(id) ?? id);
  if (record.userId && pseudonyms.has(record.userId.toLowerCase())) {
    return { ...record, userId: swap(record.userId) as string, userRefs, data: {} };
  }
  return { ...record, userRefs, data: Object.fromEntries(Object.entries(record.data).map(([field, value]) => [field, swap(value)])) };
}
