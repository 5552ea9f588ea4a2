/**
 * Memory and CPU of the processes under test, from /proc: VmRSS sampled during a run (its maximum), VmHWM
 * (the kernel's own peak since the process started) and CPU seconds used over the run.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export interface ProcessFigures {
  pid: number;
  /** Highest VmRSS seen by the sampler during the run (MiB). */
  peakRssMiB: number;
  /** VmRSS at the end of the run (MiB). */
  endRssMiB: number;
  /** VmHWM at the end: peak resident set since the process started (MiB). */
  hwmMiB: number;
  /** User + system CPU seconds used during the run. */
  cpuSeconds: number;
}

const clockTicks = 100;

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

export const rssMiB = (pid: number) => (statusKiB(pid, 'VmRSS') ?? 0) / 1024;

export class ProcessSampler {
  private readonly peak = new Map<string, number>();
  private readonly cpuStart = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: Record<string, number | undefined>) {
    for (const [name, pid] of this.entries()) this.cpuStart.set(name, cpuTicks(pid) ?? 0);
  }

  private entries(): [string, number][] {
    return Object.entries(this.pids).filter((e): e is [string, number] => typeof e[1] === 'number');
  }

  start(intervalMs = 500): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): void {
    for (const [name, pid] of this.entries()) {
      const rss = statusKiB(pid, 'VmRSS');
      if (rss !== undefined) this.peak.set(name, Math.max(this.peak.get(name) ?? 0, rss));
    }
  }

  stop(): Record<string, ProcessFigures> {
    clearInterval(this.timer);
    this.sample();
    const out: Record<string, ProcessFigures> = {};
    for (const [name, pid] of this.entries()) {
      out[name] = {
        pid,
        peakRssMiB: round((this.peak.get(name) ?? 0) / 1024),
        endRssMiB: round((statusKiB(pid, 'VmRSS') ?? 0) / 1024),
        hwmMiB: round((statusKiB(pid, 'VmHWM') ?? 0) / 1024),
        cpuSeconds: round(((cpuTicks(pid) ?? 0) - (this.cpuStart.get(name) ?? 0)) / clockTicks),
      };
    }
    return out;
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

/** What else the machine was doing: load averages and core count, recorded next to every figure. */
export function machineLoad(): { loadavg: number[]; cores: number; cpu: string } {
  return {
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
  };
}
