import { describe, expect, test } from 'vitest';
import { createLifecycle, createLogger } from '../src/index.js';
import { captureLogs } from '../src/testing/index.js';

function setup(timeoutMs = 2000) {
  const logs = captureLogs();
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  const lifecycle = createLifecycle({
    logger: createLogger({ service: 'test', destination: logs.stream }), drainDelayMs: 100, timeoutMs, exit: (code) => resolveExit(code),
  });
  return { lifecycle, events: [] as string[], exited, logs };
}

describe('lifecycle', () => {
  test('when shutdown starts, then it drains first, waits the drain delay, stops in order and exits 0', async () => {
    const { lifecycle, events, exited } = setup();
    let drainedAt = 0;
    lifecycle.onDrain('registry', () => {
      drainedAt = performance.now();
      events.push(`drain:${lifecycle.isDraining()}`);
    });
    // Node's timers tick on a millisecond clock: a 100 ms wait can measure 99.x ms on a finer one.
    lifecycle.onStop('server', () => events.push(`server:${performance.now() - drainedAt >= 99}`));
    lifecycle.onStop('pool', async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      events.push('pool');
    });
    void lifecycle.shutdown('SIGTERM');
    void lifecycle.shutdown('SIGTERM');
    expect(await exited).toBe(0);
    expect(events).toEqual(['drain:true', 'server:true', 'pool']);
  });

  test('when an uncaught error triggers shutdown, then it still closes everything and exits 1', async () => {
    const { lifecycle, events, exited } = setup();
    lifecycle.onStop('pool', () => events.push('pool'));
    void lifecycle.shutdown('uncaughtException', 1);
    expect(await exited).toBe(1);
    expect(events).toEqual(['pool']);
  });

  test('when a stop step fails, then later steps still run and the exit code is 1', async () => {
    const { lifecycle, events, exited, logs } = setup();
    lifecycle.onStop('bus', () => {
      throw new Error('bus close failed');
    });
    lifecycle.onStop('pool', () => events.push('pool'));
    void lifecycle.shutdown('SIGTERM');
    expect(await exited).toBe(1);
    expect(events).toEqual(['pool']);
    expect(logs.lines).toContainEqual(expect.objectContaining({ msg: 'shutdown step failed', step: 'bus' }));
  });

  test('when a step hangs past the bound, then the process is forced out with exit 1', async () => {
    const { lifecycle, exited } = setup(300);
    lifecycle.onStop('stuck', () => new Promise(() => undefined));
    const started = Date.now();
    void lifecycle.shutdown('SIGTERM');
    expect(await exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
