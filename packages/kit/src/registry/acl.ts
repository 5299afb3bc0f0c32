import { registryAclPatterns } from './keys.js';

export type RedisRole = 'hub' | 'spoke' | 'monitoring' | 'admin';

/**
 * A Redis ACL rule (after `user <name> on <password>`) per role, least privilege: keys (`~`, `%R~` read-only),
 * pub/sub channels (`&`) and commands. Every role may PING, INFO (ioredis's ready check) and QUIT.
 * - spoke: the registry client's commands (MULTI SET..GET PX / ZADD / ZREMRANGEBYSCORE, DEL, ZREM, PUBLISH) on its own
 *   instance records, the index and the change channel; no other key — but the revocation list for a spoke that
 *   writes it (`revokes`: the auth spoke, SET with EX).
 * - hub: reads the registry and subscribes to its changes; reads and writes its own keys (rate limits through EVALSHA)
 *   and the revocation list (its script reads the entries, and Redis checks a script's keys as read and write);
 *   TIME, which the rate-limit script reads its clock from; CLIENT ID and CLIENT TRACKING with the invalidation
 *   channel, through which Redis keeps its copy of the revocation list current (auth/revocation-mirror.ts);
 *   nothing that flushes, reconfigures or lists the keyspace.
 * - monitoring (redis_exporter): server information and statistics, no key.
 * - admin: operators (redis-cli in the container).
 */
export function redisAclRule(role: RedisRole, service: string, { keyPrefix = '', revokes = false }: { keyPrefix?: string; revokes?: boolean } = {}): string {
  const patterns = registryAclPatterns(keyPrefix);
  // Rules apply left to right: these come last, after any category that would remove them (INFO is @dangerous).
  const always = '+ping +info +quit';
  switch (role) {
    case 'spoke':
      // `revokes`: the auth spoke also writes the hub's revocation list (logouts, deleted accounts).
      return `resetkeys resetchannels -@all ~${patterns.ownInstances(service)} ~${patterns.index}${revokes ? ` ~${patterns.revocations}` : ''} &${patterns.changes} `
        + `+multi +exec +discard +set +del +zadd +zrem +zremrangebyscore +publish ${always}`;
    case 'hub':
      // SCAN and RANDOMKEY would list key names beyond the patterns; the hub reads the registry through its index.
      return `resetkeys resetchannels -@all %R~${patterns.registry} ~${patterns.revocations} ~${patterns.hubOwn} &${patterns.changes} &${patterns.invalidations} `
        + `+@read +@write +@scripting +@pubsub +@transaction -@dangerous -scan -randomkey -script|flush -script|kill +time +client|id +client|tracking ${always}`;
    case 'monitoring':
      return `resetkeys resetchannels -@all +config|get +client|list +slowlog +latency +select +dbsize +memory|stats +cluster|info ${always}`;
    case 'admin':
      return '~* &* +@all';
  }
}
