import { Agent, request, type ClientRequest } from 'node:http';

export interface LoadResult {
  total: number;
  failed: number;
  /** Status (or error code) → count, for the failures. */
  failures: Record<string, number>;
  /** Status and the body's `error.code` → count, for the failures that were answers. */
  errorCodes: Record<string, number>;
  byInstance: Record<string, number>;
  /** Latencies of the successful requests, ms: the slowest, and the 99th percentile. */
  slowestMs: number;
  p99Ms: number;
  elapsedMs: number;
  abandoned: number;
}

export interface Load {
  completed: () => number;
  done: Promise<LoadResult>;
}

export interface LoadOptions {
  total: number;
  concurrency?: number;
  /** Stops sending after this long, whatever `total` says. */
  maxMs?: number;
  /** A client gives up on one request after this long (counted as failure "client-timeout"). */
  requestTimeoutMs?: number;
  /**
   * At `maxMs`, close the connections of requests still in flight instead of awaiting them, as a
   * benchmark tool does when its run ends; they are counted in `abandoned`, not as failures.
   */
  abandonAtEnd?: boolean;
  headers?: Record<string, string>;
  /** Each client waits this long between its requests (paced load over a fixed time instead of as fast as possible). */
  pauseMs?: number;
  /** Tags each request with `X-Request-Id: <prefix>-<n>`, so its log lines and access-log entries are found again. */
  requestIdPrefix?: string;
}

/**
 * Steady GET load on loopback: `concurrency` keep-alive clients sending `total` requests in all, bounded by
 * `maxMs`. A request fails unless it answers 200.
 */
export function startLoad(url: string, { total, concurrency = 8, maxMs = 30_000, requestTimeoutMs = 30_000, abandonAtEnd = false, headers = {}, requestIdPrefix, pauseMs = 0 }: LoadOptions): Load {
  if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url)) throw new Error(`load targets loopback only, not ${url}`);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result = { total: 0, failed: 0, failures: {} as Record<string, number>, errorCodes: {} as Record<string, number>, byInstance: {} as Record<string, number>, abandoned: 0 };
  const inFlight = new Set<ClientRequest>();
  const latencies: number[] = [];
  const startedAt = Date.now();
  const stopAt = startedAt + maxMs;
  let sent = 0;
  const fail = (why: string) => {
    result.failed++;
    result.failures[why] = (result.failures[why] ?? 0) + 1;
  };
  const one = (n: number) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const tag = requestIdPrefix ? { 'x-request-id': `${requestIdPrefix}-${n}` } : {};
      const req = request(url, { agent, timeout: requestTimeoutMs, headers: { ...headers, ...tag } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          inFlight.delete(req);
          result.total++;
          if (res.statusCode !== 200) {
            fail(String(res.statusCode));
            const code = `${res.statusCode} ${errorCode(Buffer.concat(chunks))}`.trim();
            result.errorCodes[code] = (result.errorCodes[code] ?? 0) + 1;
          }
          else {
            latencies.push(performance.now() - started);
            const id = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { instanceId?: string }).instanceId ?? '?';
            result.byInstance[id] = (result.byInstance[id] ?? 0) + 1;
          }
          resolve();
        });
        res.on('error', () => resolve());
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('client timeout'), { code: 'client-timeout' })));
      req.on('error', (error: NodeJS.ErrnoException) => {
        inFlight.delete(req);
        if (error.code === 'abandoned') {
          result.abandoned++;
          return resolve();
        }
        result.total++;
        fail(error.code ?? 'error');
        resolve();
      });
      inFlight.add(req);
      req.end();
    });
  const worker = async () => {
    while (sent < total && Date.now() < stopAt) {
      sent++;
      await one(sent);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const abandon = abandonAtEnd
    ? setTimeout(() => {
      for (const req of inFlight) req.destroy(Object.assign(new Error('abandoned at the end of the run'), { code: 'abandoned' }));
    }, maxMs)
    : undefined;
  const done = Promise.all(Array.from({ length: concurrency }, worker)).then((): LoadResult => {
    clearTimeout(abandon);
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
    return { ...result, slowestMs: at(1), p99Ms: at(0.99), elapsedMs: Date.now() - startedAt };
  });
  return { completed: () => result.total, done };
}

/** One line for a test's output: counts, failures, latencies. */
export function describeLoad({ total, failed, failures, slowestMs, p99Ms, elapsedMs, abandoned }: LoadResult): string {
  return `${failed}/${total} failed${abandoned ? ` (+${abandoned} abandoned)` : ''} (${((failed / Math.max(1, total)) * 100).toFixed(3)} %) ${JSON.stringify(failures)}, `
    + `p99 ${p99Ms} ms, slowest success ${slowestMs} ms, ${Math.round(total / (elapsedMs / 1000))} req/s`;
}

/** The `error.code` of an error body in the platform's shape, or '' for anything else. */
function errorCode(body: Buffer): string {
  try {
    return String((JSON.parse(body.toString('utf8')) as { error?: { code?: string } }).error?.code ?? '');
  } catch {
    return '';
  }
}
