import type { AppError } from '../errors.js';

/** Where a page ended: a timestamp in microseconds since the epoch (Postgres precision, exact), then the row id. */
export interface PagePosition {
  atMicros: string;
  id: string;
}

const DECODED = /^(-?\d{1,18})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Opaque to clients: they pass it back unchanged, and the encoding may change without notice. */
export function encodeCursor({ atMicros, id }: PagePosition): string {
  return Buffer.from(`${atMicros}_${id}`, 'utf8').toString('base64url');
}

/** The position a cursor names; anything else is the client's mistake, answered with the service's own 400. */
export function decodeCursor(cursor: string, invalid: () => AppError): PagePosition {
  const match = /^[A-Za-z0-9_-]{1,100}$/.test(cursor) ? DECODED.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (!match) throw invalid();
  return { atMicros: match[1]!, id: match[2]! };
}
