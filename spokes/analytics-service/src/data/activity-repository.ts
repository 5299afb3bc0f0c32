import type { PagePosition } from '@hubspoke/kit';
import type { Queryable } from '@hubspoke/kit';

export interface ActivityRow {
  id: string;
  type: string;
  version: number;
  source: string;
  occurredAt: Date;
  data: Record<string, unknown>;
  position: PagePosition;
}

interface Row {
  id: string;
  type: string;
  version: number;
  source: string;
  occurred_at: Date;
  occurred_at_us: string;
  data: Record<string, unknown>;
}

const COLUMNS = `id, type, version, source, occurred_at, data, (extract(epoch FROM occurred_at) * 1000000)::bigint::text AS occurred_at_us`;

export function createActivityRepository(db: Queryable) {
  return {
    /** The user's events, newest first, strictly before `before` when given. */
    async listByUser(userId: string, { before, limit }: { before?: PagePosition; limit: number }): Promise<ActivityRow[]> {
      const { rows } = before
        ? await db.query<Row>(
          `SELECT ${COLUMNS} FROM events
           WHERE user_id = $1 AND (occurred_at, id) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)
           ORDER BY occurred_at DESC, id DESC LIMIT $4`, [userId, before.atMicros, before.id, limit])
        : await db.query<Row>(`SELECT ${COLUMNS} FROM events WHERE user_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2`, [userId, limit]);
      return rows.map((row) => ({
        id: row.id, type: row.type, version: row.version, source: row.source, occurredAt: row.occurred_at, data: row.data,
        position: { atMicros: row.occurred_at_us, id: row.id },
      }));
    },
  };
}
