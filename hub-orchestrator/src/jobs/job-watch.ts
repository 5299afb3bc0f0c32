import type { Response } from 'express';
import type { Logger } from '@hubspoke/kit';
import { jobView, type JobRow } from './job-row.js';
import { FINAL_STATUSES } from './job-schemas.js';
import type { JobStore } from './job-store.js';

export interface JobWatchOptions {
  store: Pick<JobStore, 'getMany'>;
  logger: Logger;
  /** How often watched jobs are read: one query per replica for every stream it holds. */
  pollMs: number;
  /** Comment lines this often keep idle streams (and nginx's 60 s read timeout) alive. */
  heartbeatMs: number;
  isDraining: () => boolean;
}

interface Watcher {
  res: Response;
  version: number;
}

const isFinal = (row: JobRow) => (FINAL_STATUSES as readonly string[]).includes(row.status);

/**
 * Server-sent events for jobs. Each event is a snapshot: the whole job (its counts), with the job's version
 * (bumped by every change) as its id. Snapshots are coalesced, live and on resume alike: a client that
 * reconnects with Last-Event-ID gets the current counts if anything changed since, which hold everything
 * the events it missed said (ids only grow, gaps are changes folded into the next snapshot). The last
 * event is `summary`. Changes may come from any replica, so jobs are read from Postgres, not from memory.
 */
export function jobWatch({ store, logger, pollMs, heartbeatMs, isDraining }: JobWatchOptions) {
  const watchers = new Map<string, Set<Watcher>>();
  let polling = false;

  const send = (watcher: Watcher, row: JobRow) => {
    const event = isFinal(row) ? 'summary' : 'progress';
    watcher.version = Number(row.version);
    watcher.res.write(`id: ${row.version}\nevent: ${event}\ndata: ${JSON.stringify(jobView(row))}\n\n`);
    if (event === 'summary') watcher.res.end();
  };

  const poller = setInterval(() => {
    if (polling || watchers.size === 0) return;
    polling = true;
    void poll().catch((error: unknown) => logger.warn({ err: error }, 'job events: reading watched jobs failed')).finally(() => (polling = false));
  }, pollMs);
  const heartbeat = setInterval(() => {
    for (const set of watchers.values()) for (const watcher of set) watcher.res.write(': heartbeat\n\n');
  }, heartbeatMs);

  async function poll() {
    // A draining replica hands its streams over: clients reconnect (to another replica) with Last-Event-ID.
    if (isDraining()) return endAll();
    for (const row of await store.getMany([...watchers.keys()])) {
      for (const watcher of watchers.get(row.id) ?? []) if (Number(row.version) > watcher.version) send(watcher, row);
    }
  }

  function endAll() {
    for (const set of watchers.values()) for (const watcher of set) watcher.res.end();
  }

  return {
    /** Streams `job` to `res` until the summary, the client leaving or shutdown; resolves when the stream ends. */
    stream(res: Response, job: JobRow, lastEventId: number | undefined): Promise<void> {
      // An id ahead of the job's version is not one this job sent (another job's, or made up): start afresh
      // rather than stay silent until the job catches up with it.
      const resumeFrom = lastEventId !== undefined && lastEventId <= Number(job.version) ? lastEventId : undefined;
      res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
      res.flushHeaders();
      res.write('retry: 1000\n\n');
      return new Promise((resolve) => {
        const watcher: Watcher = { res, version: resumeFrom ?? 0 };
        res.on('close', () => {
          const set = watchers.get(job.id);
          set?.delete(watcher);
          if (set?.size === 0) watchers.delete(job.id);
          resolve();
        });
        if (resumeFrom === undefined || Number(job.version) > resumeFrom || isFinal(job)) send(watcher, job);
        if (res.writableEnded) return;
        const set = watchers.get(job.id) ?? new Set();
        set.add(watcher);
        watchers.set(job.id, set);
      });
    },
    close() {
      clearInterval(poller);
      clearInterval(heartbeat);
      endAll();
    },
  };
}

export type JobWatch = ReturnType<typeof jobWatch>;
