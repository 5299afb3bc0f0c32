import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PacedResult {
  /** Requests sent (all of them: the schedule does not wait for answers). */
  total: number;
  ok: number;
  failed: number;
  /** Each answered request's latency in ms, from when the schedule said to send it to its last byte. */
  latencies: number[];
}

export interface PacedLoad {
  /** One run of `seconds` at the load's rate; resolves once every request it sent is answered or failed. */
  run: (seconds: number) => Promise<PacedResult>;
  close: () => void;
}

const REQUEST_TIMEOUT_MS = 10_000;
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * An open-loop load at a steady rate: in a run, request i is due at start + i/rate, whatever earlier requests
 * are doing, on `connections` keep-alive connections, one request in flight on each (a request due while all
 * are busy waits for one, and that wait counts in its latency). The connections stay open from one run to the
 * next, so a warm-up run leaves the measured one no connects to pay for. autocannon's rate is per connection per
 * second and sends each second's share back to back at the top of the second, so its "half of saturation" is
 * saturation for half of every second. The client writes one prebuilt GET and reads answers framed by
 * content-length (what the measured services send; anything else counts as failed).
 */
export function pacedLoad(url: string, rate: number, connections: number, headers: Record<string, string>): PacedLoad {
  const { hostname, port, pathname, search, host } = new URL(url);
  const head = Object.entries({ host, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const bytes = Buffer.from(`GET ${pathname}${search} HTTP/1.1\r\n${head}\r\n`);
  const waiting: number[] = []; // due times of requests no connection has taken yet
  const idle: Connection[] = [];
  let closed = false;
  // The run in progress: what a connection reports its answers to.
  let settle: (due: number, ok: boolean) => void = () => {};

  class Connection {
    private socket!: Socket;
    private due: number | undefined;
    private pending: Buffer = Buffer.alloc(0);
    private timer: NodeJS.Timeout | undefined;

    constructor() {
      this.open();
    }

    private open() {
      this.socket = connect({ host: hostname, port: Number(port), noDelay: true });
      this.socket.on('data', (chunk) => this.read(chunk));
      this.socket.on('error', () => {});
      this.socket.on('close', () => {
        if (closed) return;
        this.pending = Buffer.alloc(0);
        this.open(); // before settling, so the next waiting request goes out on the new socket
        if (this.due !== undefined) this.done(false);
      });
    }

    send(due: number) {
      this.due = due;
      this.timer = setTimeout(() => this.socket.destroy(), REQUEST_TIMEOUT_MS);
      this.socket.write(bytes);
    }

    close() {
      this.socket.destroy();
    }

    private read(chunk: Buffer) {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      const end = this.pending.indexOf(HEADER_END);
      if (end < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(this.pending.subarray(0, end).toString('latin1'));
      if (!length) return void this.socket.destroy(); // not framed by length: counted as failed
      const total = end + HEADER_END.length + Number(length[1]);
      if (this.pending.length < total) return;
      const status = Number(this.pending.subarray(9, 12).toString('latin1'));
      this.pending = this.pending.subarray(total);
      this.done(status >= 200 && status < 300);
    }

    private done(ok: boolean) {
      clearTimeout(this.timer);
      const due = this.due!;
      this.due = undefined;
      settle(due, ok);
      const next = waiting.shift();
      if (next !== undefined) this.send(next);
      else idle.push(this);
    }
  }

  const all = Array.from({ length: connections }, () => new Connection());
  idle.push(...all);

  return {
    async run(seconds) {
      const result: PacedResult = { total: Math.round(seconds * rate), ok: 0, failed: 0, latencies: [] };
      if (result.total === 0) return result;
      let settled = 0;
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      settle = (due, ok) => {
        if (ok) {
          result.ok++;
          result.latencies.push(performance.now() - due);
        } else result.failed++;
        if (++settled === result.total) finish();
      };
      const start = performance.now();
      let sent = 0;
      while (sent < result.total) {
        const dueNow = Math.min(result.total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
        for (; sent < dueNow; sent++) {
          const due = start + (sent * 1000) / rate;
          const connection = idle.pop();
          if (connection) connection.send(due);
          else waiting.push(due);
        }
        await sleep(Math.max(0, start + (sent * 1000) / rate - performance.now()));
      }
      await finished;
      return result;
    },
    close() {
      closed = true;
      for (const connection of all) connection.close();
    },
  };
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
