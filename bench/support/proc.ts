import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { round } from './report.js';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** CPU time a process has used so far, in µs (fields 14 and 15 of /proc/<pid>/stat, utime + stime, after the command name). */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1e6;
}

/**
 * How long the process's threads have waited on a run queue for a core so far, in µs (the second field of
 * /proc/<pid>/task/<tid>/schedstat, in ns; a thread that ended meanwhile takes its wait with it).
 */
export function runQueueWaitMicros(pid: number): number {
  let nanos = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return nanos / 1000;
}

/** Resident set size of a process, in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? Number(line[1]) * 1024 : 0;
}

/** The direct children of a process (nginx's workers under its master). */
export function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Jiffies all cores spent busy and in all since boot (the first line of /proc/stat; idle and iowait are not busy). */
function machineJiffies(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number) as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/**
 * CPU µs each named process spends while `work` runs, divided by the count `work` resolves with; the µs its
 * threads waited for a core meanwhile, divided the same way (`waitMicros`); and `coresBusy`, the share of all
 * cores' time the whole machine spent busy meanwhile (0–1).
 */
export async function cpuPerUnit<T extends { count: number }>(
  pids: Record<string, number>, work: () => Promise<T>,
): Promise<T & { cpuMicros: Record<string, number>; waitMicros: Record<string, number>; coresBusy: number }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMicros(pid)]));
  const waitedBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, runQueueWaitMicros(pid)]));
  const benchWaitedBefore = runQueueWaitMicros(process.pid);
  const machineBefore = machineJiffies();
  const selfBefore = process.cpuUsage();
  const result = await work();
  const self = process.cpuUsage(selfBefore);
  const machine = machineJiffies();
  const coresBusy = round((machine.busy - machineBefore.busy) / Math.max(1, machine.total - machineBefore.total), 2);
  const per = (micros: number) => (result.count > 0 ? Math.round(micros / result.count) : 0);
  const cpu: Record<string, number> = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, per(cpuMicros(pid) - before[name]!)]));
  cpu.bench = per(self.user + self.system);
  const waited = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, per(runQueueWaitMicros(pid) - waitedBefore[name]!)]));
  waited.bench = per(runQueueWaitMicros(process.pid) - benchWaitedBefore);
  return { ...result, cpuMicros: cpu, waitMicros: waited, coresBusy };
}

/** Every process whose command name is `comm` (the servers' own CPU: all `postgres` backends, RabbitMQ's `beam.smp`). */
export function pidsNamed(comm: string): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** CPU µs used so far by all of `pids` that still run. */
export function cpuMicrosOf(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      return sum + cpuMicros(pid);
    } catch {
      return sum;
    }
  }, 0);
}
