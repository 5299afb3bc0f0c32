/**
 * Runs `task` one at a time: asked while it runs, it runs once more after (however often it was asked), so
 * a burst of change notices costs two runs, and the last run always starts after the last ask. Each ask
 * resolves when the run that covers it has ended. Once `stopped()`, nothing more runs and an ask resolves when
 * the run under way (if any) has ended: what a `close` awaits.
 */
export function oneAtATime(task: () => Promise<void>, stopped: () => boolean = () => false): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (stopped()) return running ?? Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await task();
      } while (again && !stopped());
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
}
