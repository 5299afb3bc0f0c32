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

export type RegistryChange = 'registered' | 'draining' | 'deregistered';
