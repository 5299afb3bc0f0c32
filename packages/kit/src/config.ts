/**
 * Reads environment variables into typed values, collecting every problem so a bad start names all
 * of them in one line. Secrets have no defaults; with HUBSPOKE_PRODUCTION=true a secret still set to
 * a `changeme-` placeholder is refused.
 */
export class ConfigError extends Error {
  constructor(readonly service: string, readonly problems: string[]) {
    super(`${service}: invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const PLACEHOLDER_PREFIX = 'changeme-';
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function envReader(env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  const production = env.HUBSPOKE_PRODUCTION === 'true';

  function raw(name: string): string | undefined {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  function required<T>(name: string, fallback: T | undefined, parse: (value: string) => T | undefined, expected: string): T {
    const value = raw(name);
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      problems.push(`${name} is missing`);
      return undefined as T;
    }
    const parsed = parse(value);
    if (parsed === undefined) problems.push(`${name} is not ${expected}`);
    return parsed as T;
  }

  /** Database, Redis and broker passwords arrive inside URLs: a placeholder there is refused like any secret. */
  function checkUrlPassword(name: string, value: string): void {
    if (production && decodeURIComponent(new URL(value).password).startsWith(PLACEHOLDER_PREFIX)) {
      problems.push(`${name} still holds a ${PLACEHOLDER_PREFIX} placeholder password`);
    }
  }

  function duration(value: string): number | undefined {
    const match = /^(\d+)(ms|s|m|h)?$/.exec(value);
    return match ? Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']! : undefined;
  }

  function integer(value: string, min: number, max: number): number | undefined {
    if (!/^-?\d+$/.test(value)) return undefined;
    const n = Number(value);
    return n >= min && n <= max ? n : undefined;
  }

  const reader = {
    production,
    string: (name: string, fallback?: string) => required(name, fallback, (v) => v, 'a string'),
    optionalString: (name: string): string | undefined => raw(name),
    int: (name: string, fallback?: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) =>
      required(name, fallback, (v) => integer(v, min, max), `an integer in [${min}, ${max}]`),
    port: (name: string, fallback?: number) => required(name, fallback, (v) => integer(v, 1, 65535), 'a port (1-65535)'),
    bool: (name: string, fallback?: boolean) =>
      required(name, fallback, (v) => (v === 'true' ? true : v === 'false' ? false : undefined), 'true or false'),
    url: (name: string, fallback?: string) => {
      const value = required(name, fallback, (v) => (URL.canParse(v) ? v : undefined), 'a URL');
      if (value) checkUrlPassword(name, value);
      return value;
    },
    optionalUrl: (name: string): string | undefined => {
      const value = raw(name);
      if (value !== undefined && !URL.canParse(value)) problems.push(`${name} is not a URL`);
      else if (value !== undefined) checkUrlPassword(name, value);
      return value;
    },
    /** `250ms`, `5s`, `2m`, `1h`, or a bare number of milliseconds. */
    durationMs: (name: string, fallback?: number) => required(name, fallback, duration, 'a duration (e.g. 500ms, 5s, 2m)'),
    /** A comma-separated list of durations (`1s,10s,60s`), in order; at least one. */
    durationsMs: (name: string, fallback?: readonly number[]) =>
      required(name, fallback && [...fallback], (v) => {
        const parsed = v.split(',').map((part) => duration(part.trim()));
        return parsed.every((ms) => ms !== undefined) ? parsed : undefined;
      }, 'a comma-separated list of durations (e.g. 1s,10s,60s)'),
    oneOf: <const T extends string>(name: string, allowed: readonly T[], fallback?: T) =>
      required(name, fallback, (v) => (allowed.includes(v as T) ? (v as T) : undefined), `one of ${allowed.join(', ')}`),
    list: (name: string, fallback?: string[]) =>
      required(name, fallback, (v) => v.split(',').map((s) => s.trim()).filter(Boolean), 'a comma-separated list'),
    /** A secret: never defaulted, at least `minLength` long, and no placeholder in production. */
    secret: (name: string, { minLength = 16 } = {}) => {
      const value = raw(name);
      if (value === undefined) {
        problems.push(`${name} is missing`);
        return '';
      }
      if (value.length < minLength) problems.push(`${name} is shorter than ${minLength} characters`);
      if (production && value.startsWith(PLACEHOLDER_PREFIX)) problems.push(`${name} still holds a ${PLACEHOLDER_PREFIX} placeholder`);
      return value;
    },
    /** Adds a problem found by a cross-field check. */
    problem: (message: string) => problems.push(message),
    assertValid(service: string): void {
      if (problems.length > 0) throw new ConfigError(service, problems);
    },
  };
  return reader;
}

export type EnvReader = ReturnType<typeof envReader>;
