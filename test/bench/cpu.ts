// CPU time from /proc: of a process tree, and of the whole machine.

import { readFileSync, readdirSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** The pid and all its descendants, from /proc/PID/task/TID/children. */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    const current = pids[i];
    try {
      for (const tid of readdirSync(`/proc/${current}/task`)) {
        const children = readFileSync(`/proc/${current}/task/${tid}/children`, 'utf8').trim();
        if (children) pids.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

/** On-CPU seconds of one thread from its schedstat (nanoseconds), or from stat (clock ticks). */
function taskCpuSeconds(dir: string): number {
  try {
    return Number(readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
  } catch {
    try {
      const stat = readFileSync(`${dir}/stat`, 'utf8');
      // the fields after the command name, which is in parentheses and may contain spaces
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      return 0;
    }
  }
}

/** On-CPU seconds of the calling thread (/proc/thread-self is whichever thread reads it). */
export function threadCpuSeconds(): number {
  return taskCpuSeconds('/proc/thread-self');
}

/** On-CPU seconds a process has used so far, all its live threads together; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => sum + taskCpuSeconds(`/proc/${pid}/task/${tid}`), 0);
  } catch {
    return 0;
  }
}

/**
 * CPU seconds all cores of the machine have spent busy (not idle, not waiting for I/O). Without
 * interrupts: leaves out irq and softirq time, which on loopback is mostly our own networking.
 */
export function machineBusySeconds(options: { interrupts?: boolean } = {}): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number);
    const interrupts = options.interrupts === false ? 0 : irq + softirq;
    return (user + nice + system + steal + interrupts) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
