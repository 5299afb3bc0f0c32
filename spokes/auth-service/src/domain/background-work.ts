import type { Logger } from '@hubspoke/kit';

/**
 * Work a request starts and does not wait for, so its answer takes the same time whatever the work finds
 * (password reset for a known or an unknown email). It runs in the request's async context (its request id
 * is on every log line); `drain` waits for what is still running, at shutdown. A crash loses it: the
 * client asks again.
 */
export function createBackgroundWork(logger: Logger) {
  const running = new Set<Promise<void>>();
  return {
    run(work: string, job: () => Promise<void>): void {
      const task: Promise<void> = job()
        .catch((error: unknown) => logger.error({ err: error, work }, 'background work failed'))
        .finally(() => running.delete(task));
      running.add(task);
    },
    async drain(): Promise<void> {
      await Promise.all(running);
    },
  };
}

export type BackgroundWork = ReturnType<typeof createBackgroundWork>;
