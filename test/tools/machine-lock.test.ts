import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireMachineLock } from '../../tools/stack/machine-lock';

describe('acquireMachineLock', () => {
  const name = `test-${process.pid}-${Date.now()}`;
  const path = join(tmpdir(), `tsgw-${name}.lock`);

  it('admits one holder at a time and the next after the release', async () => {
    const release = await acquireMachineLock(name, 1000);
    await expect(acquireMachineLock(name, 1200)).rejects.toThrow(/not ready after 1200 ms/);
    release();
    expect(existsSync(path)).toBe(false);
    const again = await acquireMachineLock(name, 1000);
    again();
  });

  it('takes over a lock whose owner process is gone', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout;
    writeFileSync(path, dead.toString());
    const release = await acquireMachineLock(name, 3000);
    release();
    expect(existsSync(path)).toBe(false);
  });
});
