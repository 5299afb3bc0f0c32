import type { Logger, Pool } from '@hubspoke/kit';
import type { AuthConfig } from '../config.js';
import { createKeyEncryption } from './key-encryption.js';
import { keyRingFromEnvironment, type KeyRing } from './signing-keys.js';
import { keyRingFromDatabase } from './stored-signing-keys.js';

/** AUTH_SIGNING_KEYS when set; otherwise the keys kept (encrypted) in the auth database, generated on first start. */
export function loadKeyRing(config: Pick<AuthConfig, 'keys' | 'tokens'>, db: Pool, logger: Logger): Promise<KeyRing> {
  if (config.keys.signingKeys) return keyRingFromEnvironment(config.keys.signingKeys);
  return keyRingFromDatabase({
    db, encryption: createKeyEncryption(config.keys.encryption!), accessTokenTtlMs: config.tokens.accessTokenTtlMs,
    reloadIntervalMs: config.keys.reloadIntervalMs, logger,
  });
}
