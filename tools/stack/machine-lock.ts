import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from './process';

/**
 * Holds `name` for this process across the whole machine (jest workers and other checkouts included),
 * for programs that listen on fixed ports. The lock file holds the owner's pid; one whose owner is gone
 * is taken over. Returns the release.
 */
export async function acquireMachineLock(name: string, timeoutMs: number): Promise<() => void> {
  const path = join(tmpdir(), `tsgw-${name}.lock`);
  await waitUntil(`the machine-wide ${name} lock (${path})`, () => Promise.resolve(tryLock(path)), {
    timeoutMs,
    intervalMs: 500,
  });
  return () => {
    if (ownerOf(path) === process.pid) unlinkSync(path);
  };
}

function tryLock(path: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const owner = ownerOf(path);
  if (owner !== undefined && alive(owner)) return false;
  // The owner died without releasing it (or had not written its pid yet: then the next poll sees it).
  if (owner !== undefined) unlinkSync(path);
  return false;
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
