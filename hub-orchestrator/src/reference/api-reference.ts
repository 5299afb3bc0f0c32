import { defineRoute, type ApiRoute, type Logger, type OpenApiDocument, type RegistryReader } from '@hubspoke/kit';
import { z } from 'zod';
import { mergeDocuments, type DocumentPart } from './merge-documents.js';
import { REFERENCE_PAGE, REFERENCE_PAGE_CSP } from './reference-page.js';
import { createSpokeDocuments } from './spoke-documents.js';

const INFO = {
  title: 'hubspoke API',
  version: '1',
  description: 'Every route a client can call through the hub, from the documents of the spokes live right now. Errors are `{ error: { code, message, requestId, details? } }`; each response lists its codes.',
};

const OpenApiBody = z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });

/**
 * The merged OpenAPI document and the page that renders it, both public: they describe only what a
 * client can call through the hub (never a spoke's internal paths or instance addresses).
 */
export function createApiReference({ registry, logger }: { registry: Pick<RegistryReader, 'instances' | 'onChange'>; logger: Logger }) {
  let hub: DocumentPart | undefined;
  let spokes: DocumentPart[] = [];
  let merged: OpenApiDocument | undefined;
  const documents = createSpokeDocuments({
    registry, logger,
    onUpdate: (parts) => {
      spokes = parts;
      merged = undefined;
    },
  });

  const routes: ApiRoute[] = [
    defineRoute({
      method: 'get', path: '/openapi.json', public: true, tags: ['hub'], summary: 'This API as one OpenAPI 3.1 document',
      response: { description: 'The hub\'s routes and those of every live spoke', body: OpenApiBody, headers: { 'Cache-Control': 'no-cache' } },
      handler: () => {
        // Never waits: a spoke whose document failed to load is fetched again in the background.
        documents.refresh();
        merged ??= mergeDocuments(INFO, hub ? [hub, ...spokes] : spokes);
        return merged as z.input<typeof OpenApiBody>;
      },
    }),
    defineRoute({
      method: 'get', path: '/docs', public: true, tags: ['hub'], summary: 'The API reference page',
      response: { description: 'A page rendering /api/hub/openapi.json, its assets served by the hub', body: z.string(), contentType: 'text/html', headers: { 'Content-Security-Policy': REFERENCE_PAGE_CSP } },
      handler: () => REFERENCE_PAGE,
    }),
  ];

  return {
    routes,
    /** The hub's own document (all of its API routes), merged in front of the spokes'. */
    setHubDocument(document: OpenApiDocument): void {
      hub = { prefix: 'hub', document };
      merged = undefined;
    },
  };
}
