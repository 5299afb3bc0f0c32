import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

/** swagger-ui-dist, served from node_modules: the page works offline and loads nothing from a CDN. */
const ASSETS_DIR = dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json')));
const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png']);

/** Relative URLs: the page works at `/api/hub/docs` through the hub and the gateway alike. */
export const REFERENCE_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>hubspoke API reference</title>
  <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/reference.js"></script>
</body>
</html>
`;

/**
 * The page's own Content-Security-Policy, replacing the API's `default-src 'none'`: its scripts, styles and images come
 * from the hub only, and it fetches only the hub's document. Swagger UI sets inline style attributes, hence 'unsafe-inline'
 * for styles (not for scripts).
 */
export const REFERENCE_PAGE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:", "connect-src 'self'",
  "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'",
].join('; ');

// A file rather than an inline script, so a Content-Security-Policy without 'unsafe-inline' allows it.
const START_SCRIPT = `window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#reference', deepLinking: true });\n`;

/** `/docs/assets/*`: the renderer's files (a fixed list) and the script that points it at the document. */
export function referenceAssets(): RequestHandler {
  const router = express.Router();
  const files = express.static(ASSETS_DIR, { index: false, maxAge: '1h', fallthrough: false });
  router.get('/docs/assets/reference.js', (_req, res) => {
    res.type('text/javascript').setHeader('Cache-Control', 'public, max-age=3600');
    res.send(START_SCRIPT);
  });
  router.use('/docs/assets', (req, res, next) => (ASSETS.has(req.path.slice(1)) ? files(req, res, next) : next()));
  return router;
}
