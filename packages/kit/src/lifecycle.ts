import type { Logger } from 'pino';

export type ShutdownStep = { name: string; run: () => Promise<unknown> | unknown };

export interface LifecycleOptions {
  logger: Logger;
  /** Time between "draining" and "stop accepting": longer than the hub's registry propagation. */
  drainDelayMs: number;
  /** Hard bound on the whole shutdown; past it the process exits 1. */
  timeoutMs: number;
  /** Injected in tests; `process.exit` otherwise. */
  exit?: (code: number) => void;
}

export interface Lifecycle {
  isDraining: () => boolean;
  /** Runs first, at once: e.g. mark the instance draining in the registry. */
  onDrain: (name: string, run: ShutdownStep['run']) => void;
  /** Runs after the drain delay, in the order added: stop the server, the consumers, the bus, the pool. */
  onStop: (name: string, run: ShutdownStep['run']) => void;
  /** Listens for SIGTERM/SIGINT and for uncaught errors. */
  installSignalHandlers: () => void;
  shutdown: (reason: string, exitCode?: number) => Promise<void>;
}

/**
 * SIGTERM/SIGINT → draining (registry + /ready fail) → DRAIN_DELAY → stop steps in order → exit 0,
 * bounded by `timeoutMs`. An uncaught error logs, runs the same shutdown and exits 1.
 */
export function createLifecycle({ logger, drainDelayMs, timeoutMs, exit = (code) => process.exit(code) }: LifecycleOptions): Lifecycle {
  let draining = false;
  let running: Promise<void> | undefined;
  const drainSteps: ShutdownStep[] = [];
  const stopSteps: ShutdownStep[] = [];

  async function runSteps(steps: ShutdownStep[]): Promise<boolean> {
    let clean = true;
    for (const step of steps) {
      try {
        await step.run();
      } catch (error) {
        clean = false;
        logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
    return clean;
  }

  function shutdown(reason: string, exitCode = 0): Promise<void> {
    running ??= (async () => {
      draining = true;
      logger.info({ reason, drainDelayMs }, 'shutting down: draining');
      const forced = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown took too long: forcing exit');
        exit(1);
      }, timeoutMs);
      forced.unref();
      const drained = await runSteps(drainSteps);
      await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
      const stopped = await runSteps(stopSteps);
      clearTimeout(forced);
      const code = exitCode === 0 && !(drained && stopped) ? 1 : exitCode;
      logger.info({ exitCode: code }, 'shutdown complete');
      logger.flush?.();
      exit(code);
    })();
    return running;
  }

  return {
    isDraining: () => draining,
    onDrain: (name, run) => drainSteps.push({ name, run }),
    onStop: (name, run) => stopSteps.push({ name, run }),
    installSignalHandlers() {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal));
      process.on('uncaughtException', (error) => {
        logger.fatal({ err: error }, 'uncaught exception');
        void shutdown('uncaughtException', 1);
      });
      process.on('unhandledRejection', (error) => {
        logger.fatal({ err: error }, 'unhandled rejection');
        void shutdown('unhandledRejection', 1);
      });
    },
    shutdown,
  };
}
