import { eventually, metricValue, startLoad, type LoadOptions, type LoadResult } from '@hubspoke/kit/testing';
import type { Instance } from '../../support/platform.js';

/** Steady GET load on `url`; once `injectAfter` requests have completed, `inject` runs (the fault) while the load goes on. */
export async function loadThrough(url: string, options: LoadOptions & { injectAfter: number }, inject: () => Promise<unknown>): Promise<LoadResult> {
  const load = startLoad(url, options);
  await eventually(() => load.completed() >= options.injectAfter, 30_000, 5);
  const [result] = await Promise.all([load.done, inject()]);
  return result;
}

/** `3/2000 failed (0.150 %) {"503 HUB.NO_INSTANCE":3}, slowest 840 ms, p99 120 ms`: a load's figure for the table. */
export const failedShare = ({ failed, total, slowestMs, p99Ms, failures, errorCodes }: LoadResult) =>
  `${failed}/${total} failed (${((failed / Math.max(1, total)) * 100).toFixed(3)} %)${failed ? ` ${JSON.stringify({ ...failures, ...errorCodes })}` : ''}, slowest ${slowestMs} ms, p99 ${p99Ms} ms`;

/** Waits until a hub's route table holds exactly `count` ready instances of `service`. */
export const liveInstances = (hub: Instance, service: string, count: number, timeoutMs = 20_000) =>
  eventually(async () => (await metricValue(hub, `hub_live_instances{service="${service}"}`)) === count, timeoutMs, 100);

/** Sends `signal` to a platform process and resolves with its exit code (null when a signal ended it). */
export async function signal({ process }: Instance, name: NodeJS.Signals): Promise<number | null> {
  if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill(name);
  return name === 'SIGSTOP' || name === 'SIGCONT' ? null : process.exited;
}
