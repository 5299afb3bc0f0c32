import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** Access-token lifetime in seconds. */
  expiresIn: number;
}

const SUCCESSOR_INFO = 'hubspoke-auth refresh-token successor v1';

/**
 * The pair a token was rotated to, sealed with AES-256-GCM under a key derived (HKDF) from the old
 * token itself. The server keeps no plaintext and no key: only someone presenting the old token again
 * can open it, which is exactly the retry the grace window is for. The token has 256 bits of entropy,
 * so a fast KDF is enough, and its stored SHA-256 reveals nothing about the HKDF output.
 */
export function sealSuccessor(oldToken: string, pair: TokenPair): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', successorKey(oldToken), iv);
  const sealed = Buffer.concat([cipher.update(JSON.stringify(pair), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
}

export function openSuccessor(oldToken: string, box: Buffer): TokenPair {
  const decipher = createDecipheriv('aes-256-gcm', successorKey(oldToken), box.subarray(0, 12));
  decipher.setAuthTag(box.subarray(12, 28));
  const plain = Buffer.concat([decipher.update(box.subarray(28)), decipher.final()]);
  return JSON.parse(plain.toString('utf8')) as TokenPair;
}

function successorKey(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(token, 'utf8'), Buffer.alloc(0), SUCCESSOR_INFO, 32));
}
