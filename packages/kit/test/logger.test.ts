import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { LOG_FLUSH_INTERVAL_MS } from '../src/index.js';
import { eventually, spawnService } from '../src/testing/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/buffered-logger.ts', import.meta.url));

describe('log lines on stdout (buffered)', () => {
  test('when a quiet process logs a line, then it is on stdout within the flush interval; lines logged just before exit are not lost', async () => {
    const service = spawnService(FIXTURE, {});
    const first = await eventually(() => service.logs.find((line) => line.msg === 'first'), 15_000, 10);
    // Written at most LOG_FLUSH_INTERVAL_MS after it was logged (the margin is a busy machine's scheduling), long before the exit 3 s later.
    expect(Date.now() - Date.parse(String(first.time))).toBeLessThan(LOG_FLUSH_INTERVAL_MS + 1_300);
    expect(await service.exited).toBe(0);
    await eventually(() => service.logs.some((line) => line.msg === 'last before exit'), 2_000, 10);
    expect(service.logs.filter((line) => line.msg === 'burst').map((line) => line.i)).toEqual([...Array(50).keys()]);
  });
});
