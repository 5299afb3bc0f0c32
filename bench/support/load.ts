import autocannon from 'autocannon';
import { cpuPerUnit } from './proc.js';

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
}

export interface LoadOptions {
  headers?: Record<string, string>;
  /** Requests per second across all connections; unset is as fast as the path goes (saturation). */
  rate?: number;
}

const cannon = (url: string, seconds: number, { headers = {}, rate }: LoadOptions) => {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`load targets loopback only, not ${url}`);
  return autocannon({ url, connections: CONNECTIONS, duration: seconds, headers, timeout: 10, ...(rate ? { overallRate: rate } : {}) });
};

/**
 * One bounded run against `url`: a WARMUP_SEC run whose figures are dropped, then MEASURE_SEC measured,
 * with the CPU each of `pids` spent in the measured part divided by the requests completed in it.
 */
export async function measureLoad(url: string, pids: Record<string, number>, options: LoadOptions = {}): Promise<LoadSample> {
  await cannon(url, WARMUP_SEC, options);
  const measured = await cpuPerUnit(pids, async () => {
    const result = await cannon(url, MEASURE_SEC, options);
    return { result, count: result.requests.total };
  });
  const { result } = measured;
  return {
    rps: Math.round(result['2xx'] / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failed: result.non2xx + result.errors,
    cpuMicros: measured.cpuMicros,
  };
}
