/** A user's profile as the API shows it. email and name are null until the auth spoke tells us. */
export interface Profile {
  id: string;
  email: string | null;
  name: string | null;
  bio: string | null;
  avatarKey: string | null;
  preferences: Preferences;
  createdAt: string;
  updatedAt: string;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Preferences = Record<string, JsonValue>;

/** What a user may change about themselves; every other field belongs to someone else (PATCH /me). */
export interface ProfileChanges {
  name?: string;
  bio?: string | null;
  avatarKey?: string | null;
  /** Replaces the whole object. */
  preferences?: Preferences;
}

/** What an access token or a user.registered event says about a user. */
export interface KnownIdentity {
  id: string;
  email?: string;
  name?: string;
}

/** Who is asking, as the verified token says. */
export interface Actor {
  id: string;
  role: 'user' | 'admin';
}

export interface ProfilePage {
  items: Profile[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** Caps on what a profile holds, applied to requests and to what events bring in. */
export const PROFILE_LIMITS = {
  nameLength: 100,
  bioLength: 1000,
  avatarKeyLength: 200,
  emailLength: 254,
  /** Serialized JSON size of `preferences`. */
  preferencesBytes: 4096,
  preferenceKeyLength: 64,
} as const;
