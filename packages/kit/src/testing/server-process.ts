import { execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/** A server process a test started: the only processes its stop and kill ever signal. */
export interface ServerProcess {
  running: () => boolean;
  /** Sends `signal` to the server's main process and waits for it to exit (what the signal means is the server's). */
  signal: (signal: NodeJS.Signals) => Promise<void>;
  /** SIGKILLs the server's process group (its workers too), like a crash; the signal is sent before this returns. */
  kill: () => Promise<void>;
  /** The end of the server's output, for errors that say why it did not start. */
  logTail: () => string;
}

/**
 * A fresh temp dir for one private server, named for this process; owned by `user` when the server must not run as root.
 * Dirs left by test processes that were killed outright (no exit handlers ran) are removed first.
 */
export function serverDir(label: string, user?: string): string {
  removeOrphanedDirs();
  const dir = mkdtempSync(join(tmpdir(), `hs-server-${process.pid}-${label}-`));
  if (user) chownSync(dir, Number(execFileSync('id', ['-u', user])), Number(execFileSync('id', ['-g', user])));
  return dir;
}

function removeOrphanedDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    const owner = /^hs-server-(\d+)-/.exec(name)?.[1];
    if (!owner || isAlive(Number(owner))) continue;
    try {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    } catch {
      // another user's: theirs to remove
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 only asks whether the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The user to run a server as: servers such as Postgres refuse root, which CI containers often are. */
export const unprivileged = (user: string): string | undefined => (process.getuid?.() === 0 ? user : undefined);

// setpriv switches user (when asked) and sets the parent-death signal, then execs the server: the kernel kills a
// server whose test process died without stopping it, and the PID we hold is the server's own.
function setpriv(user: string | undefined, command: string, args: string[], deathSignal: boolean): string[] {
  return [
    ...(user ? [`--reuid=${user}`, `--regid=${user}`, '--init-groups'] : []),
    ...(deathSignal ? ['--pdeathsig=KILL'] : []),
    '--', command, ...args,
  ];
}

/** Runs a one-off command (such as initdb) as `user`, failing with its output. */
export async function runAs(user: string | undefined, command: string, args: string[]): Promise<void> {
  await promisify(execFile)('setpriv', setpriv(user, command, args, false), { cwd: tmpdir() });
}

/** Starts a long-running server in its own process group, its output appended to `<dir>/server.log`. */
export function launchServer(command: string, args: string[], options: { dir: string; user?: string; env?: NodeJS.ProcessEnv }): ServerProcess {
  const logPath = join(options.dir, 'server.log');
  const log = openSync(logPath, 'a');
  const child = spawn('setpriv', setpriv(options.user, command, args, true), {
    cwd: options.dir, env: options.env ?? process.env, stdio: ['ignore', log, log], detached: true,
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    running,
    signal: async (signal) => {
      if (running()) child.kill(signal);
      await exited;
    },
    kill: async () => {
      // A negative PID signals the group this server leads, which exists only while its leader runs: never anything else's.
      if (running()) process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
    logTail: () => readFileSync(logPath, 'utf8').slice(-2000),
  };
}

/** Polls `ready` until it resolves, failing early with the server's output if the server exits first. */
export async function untilReady(server: ServerProcess, name: string, ready: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!server.running()) throw new Error(`${name} exited while starting:\n${server.logTail()}`);
    try {
      await ready();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${name} not ready within ${timeoutMs} ms (${String(error)}):\n${server.logTail()}`);
      await sleep(100);
    }
  }
}

/**
 * Removes `dir` and kills the current server if this process exits without `remove()` (a test that threw before its
 * afterAll, a worker torn down); returns what removes the dir now instead. A process killed outright runs no
 * handlers: the parent-death signal kills its servers and the next `serverDir` removes their dirs.
 */
export function removeOnExit(dir: string, current: () => ServerProcess | undefined): () => void {
  const onExit = () => {
    void current()?.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  return () => {
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };
}

/** What a test does with a private server, whichever it is. */
export interface PrivateServerControls<StopMode extends unknown[]> {
  stop: (...mode: StopMode) => Promise<void>;
  /** SIGKILLs the server, like a crash. */
  kill: () => Promise<void>;
  /** Starts it again on the same port and data (stopping it first if it runs). */
  restart: () => Promise<void>;
  /** Kills it and deletes its data: for afterAll. */
  remove: () => Promise<void>;
}

/**
 * Runs `prepare` and the first `start` (killing the server and removing its dir if either fails), then hands
 * out the controls every private server has.
 */
export async function controlServer<StopMode extends unknown[]>(
  { prepare, start, stop, current, dir }: {
    prepare?: () => Promise<void>;
    start: () => Promise<void>;
    stop: (...mode: StopMode) => Promise<void>;
    current: () => ServerProcess | undefined;
    dir: string;
  },
): Promise<PrivateServerControls<StopMode>> {
  const removeDir = removeOnExit(dir, current);
  try {
    await prepare?.();
    await start();
  } catch (error) {
    await current()?.kill();
    removeDir();
    throw error;
  }
  return {
    stop,
    kill: async () => current()?.kill(),
    restart: async () => {
      await stop(...([] as unknown as StopMode));
      await start();
    },
    remove: async () => {
      await current()?.kill(); // its data goes too: nothing to shut down cleanly for
      removeDir();
    },
  };
}
