/**
 * Group commit for a consumer: one run of `work` at a time, on everything that arrived while the previous run
 * was busy (at most `maxSize`). An idle consumer handles a lone message at once; a busy one amortises each
 * transaction over the whole prefetch window instead of queueing one transaction per message.
 */
export function batchWhileBusy<T>(work: (batch: T[]) => Promise<void>, maxSize: number) {
  const waiting: { item: T; done: () => void }[] = [];
  let busy = false;

  function next() {
    if (busy || waiting.length === 0) return;
    busy = true;
    const taken = waiting.splice(0, maxSize);
    // `work` settles every item itself (ack, retry or dead-letter); a throw here would be a bug in it.
    void work(taken.map((entry) => entry.item)).finally(() => {
      for (const entry of taken) entry.done();
      busy = false;
      next();
    });
  }

  return {
    /** Resolves once the batch holding `item` has been handled. */
    push(item: T): Promise<void> {
      return new Promise((resolve) => {
        waiting.push({ item, done: resolve });
        next();
      });
    },
  };
}
