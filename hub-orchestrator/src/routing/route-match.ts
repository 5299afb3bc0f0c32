import { isInternalEndpoint, type PublicRoute } from '@hubspoke/kit';

/** `/api/<prefix>` or `/api/<prefix>/<rest>`: the prefix and the path the spoke sees. */
export function splitApiPath(path: string): { prefix: string; upstreamPath: string } | undefined {
  const match = /^\/api\/([^/]+)(\/.*)?$/.exec(path);
  if (!match) return undefined;
  return { prefix: match[1]!, upstreamPath: match[2] ?? '/' };
}

/**
 * Dot segments (also percent-encoded) are refused rather than resolved: a spoke's router would not
 * resolve them either, and `/public/../admin` must never match a public route declared as `/public/*`.
 */
export function hasDotSegment(path: string): boolean {
  return path.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment));
}

/**
 * A spoke's probes and anything under `/internal/` (its Prometheus metrics, its OpenAPI document), however
 * spelled: Express matches paths case-insensitively, ignores a trailing slash and decodes percent-escapes, so
 * the comparison does too, and repeated slashes are folded so no spelling slips past the prefix. `/metrics` is
 * not among them: a spoke may serve it as an API route.
 */
export function isInternalPath(path: string): boolean {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // a malformed escape is compared as written
  }
  return isInternalEndpoint(decoded.toLowerCase().replace(/\/{2,}/g, '/').replace(/\/+$/, ''));
}

/** A rule's method is exact (the registry schema keeps it upper-case); its path exact, or a prefix ending in `/*`. */
export function routeMatches(rule: PublicRoute, method: string, path: string): boolean {
  if (rule.method !== method) return false;
  if (rule.path.endsWith('/*')) {
    const base = rule.path.slice(0, -2);
    return path === base || path.startsWith(`${base}/`);
  }
  return path === rule.path;
}
