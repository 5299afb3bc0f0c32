/**
 * The advisory locks that keep the counts exact while ingestion, rebuilds and pseudonymisation run at once
 * (transaction-scoped, one-bigint keys):
 * - a day, `DAY_LOCK_BASE + days since 1970`: exclusive while that day is rebuilt, shared by every insert
 *   of an event on it. A rebuild waits for the inserts in flight on its days and holds off new ones, so no
 *   event is counted both by the recount and in a shard written beside it; other days go on, and rebuilds
 *   of different days run in parallel.
 * - `REBUILD_LOCK`: shared by every rebuild, exclusive for a pseudonymisation, so a rebuild never puts back
 *   a user id the pseudonymisation is replacing in active_users.
 * - a user, `hashtextextended(id, USER_LOCK_SEED)`: exclusive for their pseudonymisation, shared by inserts
 *   of events that name them (`user_refs`).
 * Taken in that order everywhere (REBUILD_LOCK, users, days ascending), so none deadlocks.
 */
export const REBUILD_LOCK = 7_316_001;
export const USER_LOCK_SEED = 16;
/** 7316 << 32: far from REBUILD_LOCK; a user's 64-bit hash landing on a day key would only make one wait. */
export const DAY_LOCK_BASE = 31_421_980_737_536;

