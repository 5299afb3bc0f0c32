/** An item as the API shows it; only its owner ever sees it. */
export interface Item {
  id: string;
  ownerId: string;
  title: string;
  createdAt: string;
}

export interface ItemPage {
  items: Item[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

export const ITEM_LIMITS = { titleLength: 200 } as const;
