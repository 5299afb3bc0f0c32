import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * helmet for a JSON API, on every service (createServiceApp): nosniff, frame denial, a CSP that allows
 * nothing (`default-src 'none'; frame-ancestors 'none'`), no Referer, and helmet's cross-origin defaults. A route that serves a page (the hub's API
 * reference) sets its own Content-Security-Policy on the response. No HSTS here: TLS ends at the gateway,
 * which alone knows whether it is on and adds Strict-Transport-Security there (hub-config/templates).
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
}
