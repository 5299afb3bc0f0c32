import { revocationKeys, TRACKING_NOTICES_CHANNEL } from '../auth/revocation.js';
/**
 * The registry's Redis layout, spelled only here:
 * - `${keyPrefix}registry:instance:${service}:${instanceId}` one signed record per instance, with a PX TTL;
 * - `${keyPrefix}registry:instances` a sorted set of those keys scored by expiry time, so readers list
 *   instances without SCANning a keyspace shared with rate-limit counters;
 * - `${keyPrefix}registry:changes` the pub/sub channel announcing register, draining and deregister.
 */
export interface RegistryKeys {
  instance: (service: string, instanceId: string) => string;
  instancePrefix: string;
  index: string;
  changes: string;
}

export function registryKeys(keyPrefix = ''): RegistryKeys {
  const instancePrefix = `${keyPrefix}registry:instance:`;
  return {
    instance: (service, instanceId) => `${instancePrefix}${service}:${instanceId}`,
    instancePrefix,
    index: `${keyPrefix}registry:instances`,
    changes: `${keyPrefix}registry:changes`,
  };
}

/**
 * Key and channel patterns Redis ACLs grant (registry/acl.ts; data-config/redis is generated from them). A spoke's
 * user writes only its own instance records (`ownInstances`), the index and the change channel; the hub reads the
 * whole registry and owns everything under `hubOwn` (rate-limit counters, revocations: RATE_LIMIT_KEY_PREFIX and
 * any other key the hub keeps must start with it).
 */
export function registryAclPatterns(keyPrefix = '') {
  const keys = registryKeys(keyPrefix);
  return {
    ownInstances: (service: string) => `${keys.instancePrefix}${service}:*`,
    index: keys.index,
    changes: keys.changes,
    registry: `${keyPrefix}registry:*`,
    hubOwn: `${keyPrefix}hub:*`,
    /** The access-token revocation list (kit auth/revocation.ts): written by the auth spoke, read by the hub. */
    revocations: revocationKeys(keyPrefix).pattern,
    /** The notices that keep the hub's copy of that list current (kit auth/revocation-mirror.ts). */
    invalidations: TRACKING_NOTICES_CHANNEL,
  };
}

export type RegistryChange = 'registered' | 'draining' | 'deregistered';
