import type { PagePosition } from '@hubspoke/kit';
import type { Queryable } from '@hubspoke/kit';
import type { Item } from '../domain/item.js';

/** An item as stored: the API view plus its page position. */
export interface StoredItem {
  item: Item;
  position: PagePosition;
}

interface ItemRow {
  id: string;
  owner_id: string;
  title: string;
  created_at: Date;
  created_at_us: string;
}

const COLUMNS = `id, owner_id, title, created_at, (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_at_us`;

export function createItemRepository(db: Queryable) {
  return {
    async insert({ id, ownerId, title }: { id: string; ownerId: string; title: string }): Promise<StoredItem> {
      const { rows } = await db.query<ItemRow>(`INSERT INTO items (id, owner_id, title) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`, [id, ownerId, title]);
      return toStored(rows[0]!);
    },

    async findById(id: string): Promise<StoredItem | null> {
      const { rows } = await db.query<ItemRow>(`SELECT ${COLUMNS} FROM items WHERE id = $1`, [id]);
      return rows[0] ? toStored(rows[0]) : null;
    },

    /** The owner's items in (created_at, id) order, strictly after `after` when given. */
    async listByOwner(ownerId: string, { after, limit }: { after?: PagePosition; limit: number }): Promise<StoredItem[]> {
      const { rows } = after
        ? await db.query<ItemRow>(
          `SELECT ${COLUMNS} FROM items
           WHERE owner_id = $1 AND (created_at, id) > (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)
           ORDER BY created_at, id LIMIT $4`, [ownerId, after.atMicros, after.id, limit])
        : await db.query<ItemRow>(`SELECT ${COLUMNS} FROM items WHERE owner_id = $1 ORDER BY created_at, id LIMIT $2`, [ownerId, limit]);
      return rows.map(toStored);
    },

    /** How many items were deleted. */
    async deleteByOwner(ownerId: string): Promise<number> {
      const { rowCount } = await db.query('DELETE FROM items WHERE owner_id = $1', [ownerId]);
      return rowCount ?? 0;
    },
  };
}

function toStored(row: ItemRow): StoredItem {
  return {
    item: { id: row.id, ownerId: row.owner_id, title: row.title, createdAt: row.created_at.toISOString() },
    position: { atMicros: row.created_at_us, id: row.id },
  };
}
