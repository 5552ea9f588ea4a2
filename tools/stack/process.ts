import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Starts a child that dies with us: `setpriv --pdeathsig KILL` makes the kernel kill it if this process
 * dies without cleaning up (a crashed or killed jest), so no etcd, apiserver or Temporal is left behind.
 */
export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  if (!existsSync(opts.command) && opts.command.includes('/')) {
    throw new Error(`${opts.name}: ${opts.command} does not exist; run tools/setup.sh first`);
  }
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const useSetpriv = process.platform === 'linux' && existsSync('/usr/bin/setpriv');
  const [command, args] = useSetpriv
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', opts.command, ...opts.args]]
    : [opts.command, opts.args];
  const child = spawn(command, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      log.end();
      resolve(code);
    });
  });
  return {
    name: opts.name,
    child,
    logFile: opts.logFile,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `check` until it returns true, failing with `what` and the process's fate if it never does. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; process?: ManagedProcess; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let died = false;
  void opts.process?.exited.then(() => (died = true));
  while (Date.now() < deadline) {
    if (died) throw new Error(`${what}: ${opts.process?.name} exited early; see ${opts.process?.logFile}`);
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  throw new Error(
    `${what}: not ready after ${opts.timeoutMs} ms${opts.process ? `; see ${opts.process.logFile}` : ''}`,
  );
}

export async function waitForExit(p: ManagedProcess): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) await once(p.child, 'exit');
}
