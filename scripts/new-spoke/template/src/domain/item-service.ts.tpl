import { randomUUID } from 'node:crypto';
import { decodeCursor, encodeCursor, enqueue, withTransaction, type Logger, type Pool, type Queryable } from '@hubspoke/kit';
import { createItemRepository } from '../data/item-repository.js';
import { invalidCursor, itemNotFound } from './item-errors.js';
import { itemCreatedV1 } from './item-events.js';
import type { Item, ItemPage } from './item.js';

export interface ItemServiceDeps {
  db: Pool;
  logger: Logger;
}

/** The item flows. An item is its creator's alone: anyone else is told it does not exist. */
export function createItemService({ db, logger }: ItemServiceDeps) {
  return {
    /** Stores the item and queues {{snake}}.item_created in the same transaction. */
    async create(ownerId: string, { title }: { title: string }): Promise<Item> {
      const item = await withTransaction(db, async (tx) => {
        const created = await createItemRepository(tx).insert({ id: randomUUID(), ownerId, title });
        await enqueue(tx, itemCreatedV1(created.item));
        return created.item;
      });
      logger.info({ itemId: item.id, ownerId }, 'item created');
      return item;
    },

    async get(ownerId: string, id: string): Promise<Item> {
      const stored = await createItemRepository(db).findById(id);
      if (!stored || stored.item.ownerId !== ownerId) throw itemNotFound();
      return stored.item;
    },

    async list(ownerId: string, { cursor, limit }: { cursor?: string; limit: number }): Promise<ItemPage> {
      const after = cursor === undefined ? undefined : decodeCursor(cursor, invalidCursor);
      const rows = await createItemRepository(db).listByOwner(ownerId, { after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map((row) => row.item), nextCursor: rows.length > limit && last ? encodeCursor(last.position) : null };
    },

    /** user.deleted: runs in the consumer's transaction, with its dedupe record. */
    async removeAllOf(tx: Queryable, ownerId: string): Promise<void> {
      const removed = await createItemRepository(tx).deleteByOwner(ownerId);
      logger.info({ ownerId, removed }, 'items removed after user.deleted');
    },
  };
}

export type ItemService = ReturnType<typeof createItemService>;
