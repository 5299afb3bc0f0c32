import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';

/** A private JWK encrypted with AES-256-GCM: base64 of iv (12 bytes) ‖ tag (16 bytes) ‖ ciphertext, and which KEK did it. */
export interface SealedKey {
  kekId: string;
  sealed: string;
}

export interface KeyEncryption {
  /** The id of the current key-encryption key (AUTH_KEY_ENCRYPTION_KEY): what new and re-encrypted rows carry. */
  currentId: string;
  /** True when `kekId` is the current KEK or the previous one. */
  knows: (kekId: string) => boolean;
  seal: (kid: string, privateJwk: JWK) => SealedKey;
  open: (kid: string, key: SealedKey) => JWK;
}

interface Kek {
  id: string;
  key: Buffer;
}

/**
 * The AES-256 key is derived from the configured secret with HKDF-SHA256 (the secret itself never touches the cipher),
 * and its id is a hash of the derived key: it tells which KEK sealed a row without revealing anything about it.
 */
function deriveKek(secret: string): Kek {
  const key = Buffer.from(hkdfSync('sha256', secret, 'hubspoke-auth', 'signing-key-encryption', 32));
  return { key, id: createHash('sha256').update(key).update('kek-id').digest('hex').slice(0, 16) };
}

/**
 * Signing keys at rest: sealed with the current KEK, opened with the current or the previous one (a KEK rotation in
 * progress). The row's kid is the additional authenticated data, so a sealed key moved to another row does not open.
 */
export function createKeyEncryption({ current, previous }: { current: string; previous?: string }): KeyEncryption {
  const kek = deriveKek(current);
  const keks = new Map([kek, ...(previous ? [deriveKek(previous)] : [])].map((k) => [k.id, k]));
  return {
    currentId: kek.id,
    knows: (kekId) => keks.has(kekId),
    seal(kid, privateJwk) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', kek.key, iv).setAAD(Buffer.from(kid));
      const ciphertext = Buffer.concat([cipher.update(JSON.stringify(privateJwk), 'utf8'), cipher.final()]);
      return { kekId: kek.id, sealed: Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64') };
    },
    open(kid, { kekId, sealed }) {
      const opener = keks.get(kekId);
      if (!opener) throw unknownKek(kid, kekId, kek.id);
      const bytes = Buffer.from(sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', opener.key, bytes.subarray(0, 12)).setAAD(Buffer.from(kid));
      decipher.setAuthTag(bytes.subarray(12, 28));
      try {
        return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8')) as JWK;
      } catch (error) {
        throw new Error(`signing key ${kid} does not decrypt with key-encryption key ${kekId}: the row was altered`, { cause: error });
      }
    },
  };
}

const unknownKek = (kid: string, kekId: string, currentId: string) => new Error(
  `signing key ${kid} is encrypted with key-encryption key ${kekId}, but AUTH_KEY_ENCRYPTION_KEY is ${currentId} and ` +
  `AUTH_KEY_ENCRYPTION_KEY_PREVIOUS is not ${kekId}: wrong AUTH_KEY_ENCRYPTION_KEY? (during a rotation, set the old one as AUTH_KEY_ENCRYPTION_KEY_PREVIOUS)`);
