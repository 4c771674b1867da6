/**
 * Linux /proc readers: a process's CPU time and peak RSS, per-core busy time, and machine facts.
 * Every reader degrades to `undefined` off Linux rather than failing the run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

let clockTicks: number | undefined;

/** USER_HZ: the unit of utime/stime in /proc (almost always 100). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces:
    // state(3) ... utime(14) stime(15), so utime is index 11 of what follows ") ".
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** A `Vm*` line of /proc/<pid>/status in bytes (VmHWM = peak RSS, VmRSS = current). */
export function vmBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies per core, from /proc/stat. */
export type CoreTimes = Array<{ busy: number; total: number }>;

export function coreTimes(): CoreTimes | undefined {
  try {
    const out: CoreTimes = [];
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+) (.*)$/.exec(line);
      if (!m) continue;
      const v = (m[2] as string).trim().split(/\s+/).map(Number);
      const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is inside user
      const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
      out[Number(m[1])] = { busy: total - idle, total };
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Per-core busy fraction between two snapshots. */
export function coreBusy(a: CoreTimes | undefined, b: CoreTimes | undefined): number[] | undefined {
  if (!a || !b) return undefined;
  return b.map((t, i) => {
    const p = a[i];
    if (!p) return 0;
    const total = t.total - p.total;
    return total > 0 ? (t.busy - p.busy) / total : 0;
  });
}

/** 1-minute load average, or undefined. */
export function loadAverage(): number | undefined {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** A one-line description of the machine. */
export function machineSummary(): string {
  const c = cpus();
  const model = c[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  return `${c.length} × ${model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${process.platform} ${process.arch}`;
}

/**
 * Samples a process's anonymous RSS (heap, stacks, malloc) every `intervalMs`, keeping the peak.
 * VmHWM also counts file-backed pages, mostly the ~40 MB of the node binary itself, which are
 * shared and clean; the anonymous peak is the memory the process itself made.
 */
export class RssSampler {
  #peakAnon = 0;
  #file = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(readonly pid: number, intervalMs = 200) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const anon = /^RssAnon:\s+(\d+) kB/m.exec(status);
      const file = /^RssFile:\s+(\d+) kB/m.exec(status);
      if (anon) this.#peakAnon = Math.max(this.#peakAnon, Number(anon[1]) * 1024);
      if (file) this.#file = Number(file[1]) * 1024;
    } catch {
      // the process is gone; keep what we have
    }
  }

  /** Stop sampling: peak anonymous RSS and the latest file-backed RSS, in bytes (undefined off Linux). */
  stop(): { peakAnonBytes: number | undefined; fileBytes: number | undefined } {
    this.#sample();
    clearInterval(this.#timer);
    return { peakAnonBytes: this.#peakAnon || undefined, fileBytes: this.#file || undefined };
  }
}
