import { createHmac } from 'node:crypto';

/**
 * Each service signs its registry records with its own key, derived from a master key only the hub holds:
 * `HMAC-SHA256(master, "registry:" + service)`. The hub re-derives the key of the service a record claims
 * to be, so a spoke holding its own key cannot sign as another service, and no spoke can derive another's.
 * `npm run registry:key -- <service>` prints a service's key for its REGISTRY_KEY.
 */
export function deriveRegistryKey(masterKey: string, service: string): string {
  if (!masterKey) throw new Error('registry: a master key is required to derive a service key');
  return createHmac('sha256', masterKey).update(`registry:${service}`).digest('base64url');
}
