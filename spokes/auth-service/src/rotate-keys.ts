import { createLogger, createPool } from '@hubspoke/kit';
import { loadConfig } from './config.js';
import { createKeyEncryption } from './domain/key-encryption.js';
import { rotateStoredKey } from './domain/stored-signing-keys.js';

/**
 * One-shot: `node dist/rotate-keys.js` adds a new signing key to the auth database. Every replica
 * publishes it at its next key reload and signs with it after SIGNING_KEY_ACTIVATION_DELAY; tokens
 * signed with the previous key keep verifying until they expire (the previous key stays published). The new key is
 * sealed with AUTH_KEY_ENCRYPTION_KEY, like every stored key.
 */
async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger({ service: 'auth', level: config.logLevel });
  if (config.keys.signingKeys) throw new Error('AUTH_SIGNING_KEYS is set: rotate by editing that key set, not the database');
  if (config.keys.activationDelayMs <= config.keys.reloadIntervalMs) {
    logger.warn({ activationDelayMs: config.keys.activationDelayMs, reloadIntervalMs: config.keys.reloadIntervalMs },
      'activation delay is not longer than the reload interval: some replicas may sign with the old key for a moment');
  }
  const db = createPool({ connectionString: config.databaseUrl, applicationName: 'auth-rotate-keys' }, logger);
  try {
    const kid = await rotateStoredKey(db, createKeyEncryption(config.keys.encryption!), config.keys.activationDelayMs);
    logger.info({ kid, activatesInMs: config.keys.activationDelayMs }, 'signing key added');
  } finally {
    await db.end();
  }
}

main().catch((error) => {
  console.error('auth: rotate-keys failed', error);
  process.exit(1);
});
