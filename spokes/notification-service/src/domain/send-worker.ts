import { enqueue, withTransaction, type Logger, type Pool } from '@hubspoke/kit';
import { Histogram, type Registry } from 'prom-client';
import { createSendQueue, type ClaimedSend } from '../data/send-queue.js';
import type { Channel } from './channel.js';
import { notificationFailedV1, notificationSentV1 } from './notification-events.js';
import { asProviderError, type Provider } from './providers/provider.js';
import type { RateLimiter } from './rate-limiter.js';
import { retryDelayMs } from './retry-delay.js';

export interface SendSettings {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Provider calls at once in this instance. */
  concurrency: number;
  pollIntervalMs: number;
  /**
   * How long a claimed send may stay unrecorded before another start of the spoke reconciles it as
   * interrupted: longer than any provider call can take (SMTP and webhook timeouts).
   */
  leaseMs: number;
}

export interface SendWorkerDeps {
  db: Pool;
  providers: Record<Channel, Provider>;
  limiter: RateLimiter;
  logger: Logger;
  registry: Registry;
  settings: SendSettings;
}

/**
 * Sends what the queue holds, never from a request. Per notification:
 *
 * 1. claim (one transaction): lock it, take a token of the channel's rate limit (none left: put it back
 *    for the time the limiter names, not counted as an attempt), mark it `sending` with a lease and write
 *    the attempt as `pending` — the send intent — and commit;
 * 2. call the provider;
 * 3. record the outcome (one transaction): `sent`; or a transient error → queued again after an
 *    exponential, jittered delay until `maxAttempts`; or a permanent error → `failed` at once; with
 *    notification.sent / notification.failed through the outbox.
 *
 * A crash between 1 and 3 leaves a `pending` attempt. It is never retried: once its lease has passed,
 * `reconcileExpired` (at start and on every poll) fails it as `interrupted`. So no notification is handed to a
 * provider twice; the price is that a message whose call was cut off may not have gone out (at most once).
 */
export function startSendWorker({ db, providers, limiter, logger, registry, settings }: SendWorkerDeps) {
  // The window in which a crash leaves a send unrecorded: from the intent's commit to the outcome's.
  const unrecorded = new Histogram({
    name: 'notification_send_unrecorded_seconds',
    help: 'Time from the send intent commit to the outcome commit (a crash inside it leaves an interrupted send)',
    labelNames: ['channel', 'outcome'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
  });
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  async function reconcile(): Promise<void> {
    const interrupted = await withTransaction(db, async (tx) => {
      const rows = await createSendQueue(tx).reconcileExpired();
      for (const row of rows) {
        await enqueue(tx, notificationFailedV1({ notificationId: row.id, ownerId: row.ownerId, channel: row.channel, template: row.template, reason: 'interrupted', attempts: row.attempts }));
      }
      return rows;
    });
    for (const row of interrupted) logger.warn({ notificationId: row.id, channel: row.channel }, 'send interrupted by a stop of the spoke: not sent again');
  }

  async function claim(limit: number): Promise<ClaimedSend[]> {
    return withTransaction(db, async (tx) => {
      const queue = createSendQueue(tx);
      const claimed: ClaimedSend[] = [];
      for (const send of await queue.lockDue(limit)) {
        // Every provider call pays here, whenever and however it was queued: the one place that guards the provider.
        const admission = limiter.take(send.channel);
        if (!admission.ok) {
          await queue.defer(send.id, admission.retryAfterMs);
          continue;
        }
        await queue.markSending(send, providers[send.channel].name, settings.leaseMs);
        claimed.push(send);
      }
      return claimed;
    });
  }

  async function deliver(send: ClaimedSend): Promise<void> {
    const provider = providers[send.channel];
    const intentAt = performance.now();
    let result: { outcome: 'sent'; answer: string } | { outcome: 'transient' | 'permanent'; answer?: string; error: string };
    try {
      const { answer } = await provider.send({ notificationId: send.id, channel: send.channel, to: send.recipient, subject: send.subject, text: send.text, html: send.html });
      result = { outcome: 'sent', answer };
    } catch (thrown) {
      const error = asProviderError(thrown);
      result = { outcome: error.kind, answer: error.answer, error: error.message };
    }
    const exhausted = result.outcome === 'transient' && send.attempt >= settings.maxAttempts;
    const delayMs = retryDelayMs(send.attempt, { baseMs: settings.retryBaseMs, maxMs: settings.retryMaxMs });
    const settled = await withTransaction(db, async (tx) => {
      const queue = createSendQueue(tx);
      if (!(await queue.settle(send.id, send.attempt, result))) return false;
      const event = { notificationId: send.id, ownerId: send.ownerId, channel: send.channel, template: send.template, attempts: send.attempt };
      if (result.outcome === 'sent') {
        await queue.finish(send.id, 'sent');
        await enqueue(tx, notificationSentV1({ ...event, provider: provider.name }));
      } else if (result.outcome === 'transient' && !exhausted) {
        await queue.retryLater(send.id, delayMs);
      } else {
        await queue.finish(send.id, 'failed');
        await enqueue(tx, notificationFailedV1({ ...event, reason: exhausted ? 'attempts_exhausted' : 'permanent' }));
      }
      return true;
    });
    unrecorded.observe({ channel: send.channel, outcome: result.outcome }, (performance.now() - intentAt) / 1000);
    const fields = { notificationId: send.id, channel: send.channel, attempt: send.attempt, outcome: result.outcome };
    if (!settled) logger.warn(fields, 'send outcome not recorded: the notification was reconciled or erased meanwhile');
    else if (result.outcome === 'sent') logger.info(fields, 'notification sent');
    else if (result.outcome === 'transient' && !exhausted) logger.warn({ ...fields, error: result.error, retryInMs: delayMs }, 'send failed, will retry');
    else logger.warn({ ...fields, error: result.error }, 'notification failed');
  }

  async function poll(): Promise<void> {
    await reconcile();
    const free = settings.concurrency - inFlight.size;
    if (free <= 0) return;
    for (const send of await claim(free)) {
      const task: Promise<void> = deliver(send)
        .catch((error: unknown) => logger.error({ err: error, notificationId: send.id }, 'recording a send failed; the lease will reconcile it'))
        .finally(() => {
          inFlight.delete(task);
          wake();
        });
      inFlight.add(task);
    }
  }

  /** Runs one poll now (or right after the one running), then again every poll interval. */
  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    clearTimeout(timer);
    running = poll()
      .catch((error: unknown) => logger.error({ err: error }, 'send queue poll failed'))
      .finally(() => {
        running = undefined;
        if (stopped) return;
        if (again) {
          again = false;
          wake();
        } else timer = setTimeout(wake, settings.pollIntervalMs);
      });
  }

  wake();
  return {
    /** Something was queued: look now rather than at the next poll. */
    wake,
    /** No new claims; waits for the provider calls under way and records their outcomes. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
      await Promise.all(inFlight);
    },
  };
}

export type SendWorker = ReturnType<typeof startSendWorker>;
