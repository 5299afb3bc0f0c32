import autocannon from 'autocannon';
import { pacedLoad, percentile } from './paced-load.js';
import { cpuPerUnit } from './proc.js';
import { round } from './report.js';

export const CONNECTIONS = 50;
export const WARMUP_SEC = 2;
export const MEASURE_SEC = Number(process.env.BENCH_SECONDS ?? 7);

export interface LoadSample {
  /** 2xx responses per second over the measured window. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses that were not 2xx, plus connection errors and client timeouts. */
  failed: number;
  /** CPU µs per completed request, by process name (`bench` is the load generator). */
  cpuMicros: Record<string, number>;
  /** µs per completed request each process's threads spent ready to run but waiting for a core. */
  waitMicros: Record<string, number>;
  /** Share of all cores' time the machine spent busy in the measured window (0–1), every process included. */
  coresBusy: number;
}

export interface LoadOptions {
  headers?: Record<string, string>;
  /** Requests per second, evenly spaced, open loop (`pacedLoad`); unset is autocannon as fast as the path goes (saturation). */
  rate?: number;
}

const loopbackOnly = (url: string) => {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`load targets loopback only, not ${url}`);
};

const cannon = (url: string, seconds: number, headers: Record<string, string>) => autocannon({ url, connections: CONNECTIONS, duration: seconds, headers, timeout: 10 });

/**
 * One bounded run against `url`: a WARMUP_SEC run whose figures are dropped, then MEASURE_SEC measured,
 * with the CPU each of `pids` spent in the measured part divided by the requests completed in it.
 */
export async function measureLoad(url: string, pids: Record<string, number>, { headers = {}, rate }: LoadOptions = {}): Promise<LoadSample> {
  loopbackOnly(url);
  if (rate) return measurePaced(url, pids, rate, headers);
  await cannon(url, WARMUP_SEC, headers);
  const measured = await cpuPerUnit(pids, async () => {
    const result = await cannon(url, MEASURE_SEC, headers);
    return { result, count: result.requests.total };
  });
  const { result } = measured;
  return {
    rps: Math.round(result['2xx'] / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failed: result.non2xx + result.errors,
    cpuMicros: measured.cpuMicros,
    waitMicros: measured.waitMicros,
    coresBusy: measured.coresBusy,
  };
}

async function measurePaced(url: string, pids: Record<string, number>, rate: number, headers: Record<string, string>): Promise<LoadSample> {
  const load = pacedLoad(url, rate, CONNECTIONS, headers);
  try {
    await load.run(WARMUP_SEC);
    const { ok, failed, latencies, cpuMicros, waitMicros, coresBusy } = await cpuPerUnit(pids, async () => {
      const result = await load.run(MEASURE_SEC);
      return { ...result, count: result.total };
    });
    return {
      rps: Math.round(ok / MEASURE_SEC), p50Ms: round(percentile(latencies, 50), 1), p99Ms: round(percentile(latencies, 99), 1), failed, cpuMicros, waitMicros, coresBusy,
    };
  } finally {
    load.close();
  }
}
