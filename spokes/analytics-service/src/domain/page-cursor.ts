import { invalidCursor } from './analytics-errors.js';

/** Where a page ended: occurred_at in microseconds since the epoch (Postgres precision, exact), then id. */
export interface PagePosition {
  occurredAtMicros: string;
  id: string;
}

const DECODED = /^(-?\d{1,18})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Opaque to clients: they pass it back unchanged, and the encoding may change without notice. */
export function encodeCursor({ occurredAtMicros, id }: PagePosition): string {
  return Buffer.from(`${occurredAtMicros}_${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): PagePosition {
  const match = /^[A-Za-z0-9_-]{1,100}$/.test(cursor) ? DECODED.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (!match) throw invalidCursor();
  return { occurredAtMicros: match[1]!, id: match[2]! };
}
