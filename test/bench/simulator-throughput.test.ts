/**
 * The simulator throughput benchmark at toy size, so it keeps running: both phases complete over HTTP
 * with no failed request and the simulator counts every request sent. No rate is asserted
 * (bench/RESULTS.md has the figures).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../runtime/paths';

const run = promisify(execFile);

describe('bench: Tailscale simulator throughput (toy size)', () => {
  it('measures GET and PUT of a VIP service against the simulator as its own process', async () => {
    const script = join(repoRoot(), 'dist', 'bench', 'tailscale-simulator-throughput.js');
    const { stdout } = await run(process.execPath, [
      script,
      '--max-requests',
      '200',
      '--duration-ms',
      '5000',
    ]);
    expect(stdout).toContain('(separate process, 4 concurrent clients, keep-alive)');
    for (const phase of ['GET vip-service', 'PUT vip-service']) {
      expect(stdout).toMatch(new RegExp(`^${phase}\\s+200\\s+0\\s+[\\d.]+\\s+\\d+`, 'm'));
    }
    expect(stdout).toContain('simulator counted 400 requests (200 writes) of 400 sent');
  }, 60_000);
});
