import { OPENAPI_PATH, type InstanceRecord, type Logger, type OpenApiDocument, type RegistryReader } from '@hubspoke/kit';
import type { DocumentPart } from './merge-documents.js';

export interface SpokeDocumentsOptions {
  registry: Pick<RegistryReader, 'instances' | 'onChange'>;
  logger: Logger;
  /** Called whenever the set of documents changes (a spoke's arrived, changed version, or left). */
  onUpdate: (parts: DocumentPart[]) => void;
  timeoutMs?: number;
  /** A failed fetch is tried again on the next change or the next `refresh` after this long. */
  retryAfterMs?: number;
}

interface Entry {
  /** The service and version live now: when it differs from `partKey`, the document is fetched again. */
  key: string;
  /** Kept while a new version's document is being fetched, so the reference never loses the spoke meanwhile. */
  part?: DocumentPart;
  partKey?: string;
  fetching: boolean;
  failedAt?: number;
}

/**
 * The OpenAPI documents of the live spokes, each fetched from one ready instance when the spoke appears
 * or changes version, and dropped when it leaves. Fetches run in the background: nothing waits on them,
 * and a spoke whose document cannot be fetched is simply not in the reference yet.
 */
export function createSpokeDocuments({ registry, logger, onUpdate, timeoutMs = 2_000, retryAfterMs = 5_000 }: SpokeDocumentsOptions) {
  const entries = new Map<string, Entry>();

  const publish = () => onUpdate([...entries.values()].flatMap((entry) => (entry.part ? [entry.part] : [])));

  async function fetchDocument(entry: Entry, record: InstanceRecord): Promise<void> {
    const key = entry.key;
    entry.fetching = true;
    try {
      const res = await fetch(new URL(OPENAPI_PATH, record.url), { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`answered ${res.status}`);
      const document = (await res.json()) as OpenApiDocument;
      if (typeof document !== 'object' || document === null || typeof document.paths !== 'object') throw new Error('not an OpenAPI document');
      // The registry may have moved on while this was in flight: keep only what is still current.
      if (entries.get(record.routePrefix) !== entry || entry.key !== key) return;
      entry.part = { prefix: record.routePrefix, document, publicRoutes: record.publicRoutes };
      entry.partKey = key;
      entry.failedAt = undefined;
      logger.info({ service: record.service, version: record.version }, 'api reference: spoke document loaded');
      publish();
    } catch (error) {
      entry.failedAt = Date.now();
      logger.warn({ err: error, service: record.service, url: record.url }, 'api reference: could not fetch the spoke document; retrying later');
    } finally {
      entry.fetching = false;
    }
  }

  function refresh(instances: readonly InstanceRecord[] = registry.instances()): void {
    const ready = new Map<string, InstanceRecord>();
    for (const record of instances) if (record.status === 'ready' && !ready.has(record.routePrefix)) ready.set(record.routePrefix, record);
    let removed = false;
    for (const prefix of entries.keys()) {
      if (!ready.has(prefix)) removed = entries.delete(prefix) || removed;
    }
    for (const [prefix, record] of ready) {
      const key = `${record.service}@${record.version}`;
      let entry = entries.get(prefix);
      if (!entry) {
        entry = { key, fetching: false };
        entries.set(prefix, entry);
      }
      if (entry.key !== key) {
        entry.key = key;
        entry.failedAt = undefined;
      }
      const due = entry.partKey !== key && !entry.fetching && (entry.failedAt === undefined || Date.now() - entry.failedAt >= retryAfterMs);
      if (due) void fetchDocument(entry, record);
    }
    if (removed) publish();
  }

  registry.onChange((instances) => refresh(instances));
  refresh();
  return { refresh: () => refresh() };
}
