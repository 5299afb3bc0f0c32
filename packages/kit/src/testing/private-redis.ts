import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, ReplyError } from 'ioredis';
import { freePort } from './free-port.js';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (SIGKILL, like a crash); `start()` brings it back on the same port, empty. */
  stop: () => Promise<void>;
  start: () => Promise<void>;
  /** Hangs the server (SIGSTOP): connections stay open and nothing answers until `resume()` (SIGCONT). */
  pause: () => void;
  resume: () => void;
}

/**
 * A redis-server only this test uses, for outage tests that must never stop the shared one, or for ACL tests
 * (`args: ['--aclfile', file]`: the url then has no user, and the server answers NOAUTH until a client logs in).
 */
export async function startPrivateRedis({ args = [] }: { args?: string[] } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
      client.on('error', () => undefined); // refused while the server starts: expected, retried below
      try {
        await client.connect();
        await client.ping();
        return;
      } catch (error) {
        if (error instanceof ReplyError) return; // it answers: up, just not open to anonymous clients
        if (Date.now() > deadline) throw error;
        await sleep(50);
      } finally {
        client.disconnect();
      }
    }
  };
  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`, port, stop, start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}
