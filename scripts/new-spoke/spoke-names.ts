/** Every spelling of one spoke's name that the template and the shared files need. */
export interface SpokeNames {
  /** `order-history`: the service name (registry, logs, queues, envelope source). */
  name: string;
  /** `orderHistory`, `OrderHistory`: identifiers in the generated code. */
  camel: string;
  Pascal: string;
  /** `ORDER_HISTORY`: error-code namespace and the `<CONST>_DB_PASSWORD` variable. */
  CONST: string;
  /** `order_history`: database, role and event-type namespace (event types allow no hyphens). */
  snake: string;
  /** The hub routes `/api/<prefix>/*` to the spoke. */
  prefix: string;
  port: number;
  /** `spokes/order-history-service`, `spoke-order-history`. */
  dir: string;
  composeService: string;
  passwordVariable: string;
  /** `ORDER_HISTORY_REGISTRY_KEY`: the .env variable compose hands the spoke as its REGISTRY_KEY. */
  registryKeyVariable: string;
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
// The registry's rule for route prefixes.
const PREFIX = /^[a-z0-9][a-z0-9-]{0,40}$/;
const MAX_NAME_LENGTH = 30;

// Names the platform already uses for something else: services, Postgres's own databases, infrastructure.
export const RESERVED_NAMES = new Set([
  'hub', 'auth', 'user', 'users', 'api', 'gateway', 'kit', 'spoke', 'service', 'postgres', 'redis', 'rabbitmq', 'prometheus',
  'template0', 'template1',
]);
// `/api/hub/*` is the hub's own.
export const RESERVED_PREFIXES = new Set(['hub']);

/** A bad command line: the generator prints the message as one line and exits 1. */
export class SpokeInputError extends Error {
  override readonly name = 'SpokeInputError';
}

/** Checks the name and prefix against the rules alone; `repo-facts` checks them against what exists. */
export function spokeNames(name: string, prefix: string, port: number): SpokeNames {
  if (!NAME.test(name)) throw new SpokeInputError(`"${name}" is not a spoke name: lower-case letters, digits and single hyphens, starting with a letter`);
  if (name.length > MAX_NAME_LENGTH) throw new SpokeInputError(`"${name}" is longer than ${MAX_NAME_LENGTH} characters`);
  if (name.endsWith('-service')) throw new SpokeInputError(`"${name}": leave out "-service", the directory gets it (spokes/${name}-service)`);
  if (RESERVED_NAMES.has(name)) throw new SpokeInputError(`"${name}" is reserved (${[...RESERVED_NAMES].join(', ')})`);
  if (!PREFIX.test(prefix)) throw new SpokeInputError(`"${prefix}" is not a route prefix: lower-case letters, digits and hyphens, at most 41`);
  if (RESERVED_PREFIXES.has(prefix)) throw new SpokeInputError(`route prefix "${prefix}" is reserved: /api/${prefix}/* is the hub's own`);
  const words = name.split('-');
  const Pascal = words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
  return {
    name,
    camel: Pascal[0]!.toLowerCase() + Pascal.slice(1),
    Pascal,
    CONST: words.join('_').toUpperCase(),
    snake: words.join('_'),
    prefix,
    port,
    dir: `spokes/${name}-service`,
    composeService: `spoke-${name}`,
    passwordVariable: `${words.join('_').toUpperCase()}_DB_PASSWORD`,
    registryKeyVariable: `${words.join('_').toUpperCase()}_REGISTRY_KEY`,
  };
}
