import type { Queryable } from '@hubspoke/kit';

export interface PrefixBinding {
  prefix: string;
  service: string;
  claimedAt: Date;
}

interface BindingRow {
  prefix: string;
  service: string;
  claimed_at: Date;
}

const toBinding = (row: BindingRow): PrefixBinding => ({ prefix: row.prefix, service: row.service, claimedAt: row.claimed_at });

/** Which service owns each route prefix, in the hub's own database. */
export function createPrefixOwnerRepository(db: Queryable) {
  return {
    /** Binds the prefix to the service unless it is bound already (to anyone): the first claim wins, across replicas. */
    async claim(prefix: string, service: string): Promise<void> {
      await db.query('INSERT INTO route_prefix_owners (prefix, service) VALUES ($1, $2) ON CONFLICT (prefix) DO NOTHING', [prefix, service]);
    },

    async list(): Promise<PrefixBinding[]> {
      const { rows } = await db.query<BindingRow>('SELECT prefix, service, claimed_at FROM route_prefix_owners ORDER BY prefix');
      return rows.map(toBinding);
    },

    /** The binding it removed, or null when the prefix was not bound. */
    async release(prefix: string): Promise<PrefixBinding | null> {
      const { rows } = await db.query<BindingRow>('DELETE FROM route_prefix_owners WHERE prefix = $1 RETURNING prefix, service, claimed_at', [prefix]);
      return rows[0] ? toBinding(rows[0]) : null;
    },
  };
}
