/** An event as the spoke stores it, whichever way it arrived (the bus or POST /events). */
export interface EventRecord {
  id: string;
  occurredAt: Date;
  type: string;
  version: number;
  /** The publishing service, or `client`. */
  source: string;
  /** Parsed with its contract; an event of a type and version with no contract keeps no payload. */
  known: boolean;
  /** The user it is about or came from (a payload's `userId`, the caller of POST /events). */
  userId: string | null;
  /**
   * Every user id the event names, lower-case: `userId` and the fields its contract lists in `userFields`
   * (`ownerId`, `creatorId`, …). Stored as `user_refs`, what a deletion looks for.
   */
  userRefs: string[];
  data: Record<string, unknown>;
}

/** Not activity: the user it names is the one being removed, not one acting. */
export const USER_DELETED_TYPE = 'user.deleted';
