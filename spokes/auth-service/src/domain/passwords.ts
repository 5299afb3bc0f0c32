import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { Argon2Settings } from '../config.js';

export interface PasswordHasher {
  hash: (password: string) => Promise<string>;
  /** `rehash` when the stored hash used weaker parameters than configured now. */
  verify: (hash: string, password: string) => Promise<{ ok: boolean; rehash: boolean }>;
  /** Costs what a real verification costs, for logins with no account behind them. */
  verifyDummy: (password: string) => Promise<void>;
}

/** argon2id; OWASP parameters (19 MiB, t=2, p=1) by default, cheaper ones only through configuration. */
export async function createPasswordHasher(settings: Argon2Settings): Promise<PasswordHasher> {
  const options: Parameters<typeof argon2.hash>[1] = { type: argon2.argon2id, ...settings };
  const hash = (password: string) => argon2.hash(password, options);
  // Same parameters as real hashes, so an unknown email takes as long as a wrong password.
  const dummyHash = await hash(randomBytes(32).toString('base64url'));

  return {
    hash,
    async verify(stored, password) {
      const ok = await argon2.verify(stored, password).catch(() => false);
      return { ok, rehash: ok && argon2.needsRehash(stored, settings) };
    },
    async verifyDummy(password) {
      await argon2.verify(dummyHash, password).catch(() => false);
    },
  };
}
