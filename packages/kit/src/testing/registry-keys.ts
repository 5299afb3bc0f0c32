import { deriveRegistryKey } from '../registry/credentials.js';

/** The master key test hubs verify with; each test spoke signs with `testRegistryKey(its service)`. */
export const TEST_REGISTRY_MASTER_KEY = 'test-registry-master-key-0123456789abcdef';

/** A service's registry key under TEST_REGISTRY_MASTER_KEY, as `npm run registry:key -- <service>` derives it. */
export function testRegistryKey(service: string): string {
  return deriveRegistryKey(TEST_REGISTRY_MASTER_KEY, service);
}
