/**
 * CPU time and memory of a process: this one through process.cpuUsage, a child
 * through /proc/<pid>/stat (utime+stime in clock ticks) and /proc/<pid>/status (VmRSS).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // Linux's USER_HZ is 100 nearly everywhere
}

/** CPU seconds (user+system) used so far by pid, including its reaped children. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name may hold spaces and parentheses: fields start after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime=14, stime=15, cutime=16, cstime=17
  const [u, s, cu, cs] = [fields[11], fields[12], fields[13], fields[14]].map(Number);
  return (u! + s! + cu! + cs!) / ticksPerSecond;
}

/**
 * CPU seconds used so far by pid's live threads, from the scheduler's own nanosecond count
 * (/proc/<pid>/task/<tid>/schedstat): for intervals of a few hundred ms, which /proc/<pid>/stat's
 * 10 ms ticks would read to ±10%. A thread that exited is no longer counted.
 */
export function threadCpuSecondsOf(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return ns / 1e9;
}

export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export function rssBytesOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** Measures CPU seconds of a set of processes over an interval. */
export function cpuMeter(pids: { name: string; pid: number | 'self' }[]) {
  const read = () =>
    pids.map((p) => {
      try {
        return p.pid === 'self' ? selfCpuSeconds() : cpuSecondsOf(p.pid);
      } catch {
        return Number.NaN;
      }
    });
  const start = read();
  const t0 = performance.now();
  return {
    /** CPU use in cores (1.0 = one core busy) per process since the meter started */
    stop(): Record<string, { cpuSeconds: number; cores: number }> {
      const end = read();
      const wall = (performance.now() - t0) / 1000;
      const out: Record<string, { cpuSeconds: number; cores: number }> = {};
      pids.forEach((p, i) => {
        const cpu = end[i]! - start[i]!;
        out[p.name] = { cpuSeconds: cpu, cores: cpu / wall };
      });
      return out;
    },
  };
}

/**
 * The niceness servers and the generator run at: ahead of the shared machine's other
 * work (type checks and test suites, which do not take the bench lock), which the
 * scheduler otherwise also puts on the server's core. On the 2-core dev machine such
 * work took 15-45% of the server's core for tens of seconds at a time and was the
 * "late-run stall" of the sustained run (bench/RESULTS.md, task S). Only root may
 * raise priority; anyone else runs at the normal 0.
 */
export const BENCH_NICE = process.getuid?.() === 0 ? -10 : 0;

/**
 * Pins this process to one core and leaves the other for the server under test, so
 * the generator can't steal the server's CPU, and raises its priority (BENCH_NICE).
 * Returns the core for servers, or undefined on a single-core machine (nothing pinned).
 */
export function pinGenerator(): { generatorCore: number; serverCore: number } | undefined {
  if (BENCH_NICE !== 0) setPriority(BENCH_NICE);
  const cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  if (cores < 2) return undefined;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    return { generatorCore: 1, serverCore: 0 };
  } catch {
    return undefined;
  }
}

/** Command prefix that runs a server on its core (none when not pinned) at BENCH_NICE. */
export function pinnedCommand(cmd: string, args: string[], core: number | undefined): [string, string[]] {
  const pinned: [string, string[]] = core === undefined ? [cmd, args] : ['taskset', ['-c', String(core), cmd, ...args]];
  // nice -n adds to the niceness a child inherits: the generator's thread (pinGenerator) may already be at BENCH_NICE
  const delta = BENCH_NICE - getPriority();
  return delta === 0 ? pinned : ['nice', ['-n', String(delta), pinned[0], ...pinned[1]]];
}
