/**
 * Tailscale's official Go client (tailscale.com/client/tailscale/v2) against the simulator: the Go
 * program tools/tailscale-contract (built by `tools/setup.sh tailscale-contract`, cached under a hash of
 * its sources) drives OAuth, auth keys, devices, VIP services and error answers, and prints one line
 * per check. Every check must pass.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../runtime/paths';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../simulators/tailscale/server';
import { cacheDir } from '../../tools/stack/paths';

const run = promisify(execFile);

/** The path tools/setup.sh builds the program to: the same hash of go.mod, go.sum and the Go files. */
function contractBinary(): string {
  const src = join(repoRoot(), 'tools', 'tailscale-contract');
  const goFiles = readdirSync(src)
    .filter((f) => f.endsWith('.go'))
    .sort();
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', ...goFiles]) hash.update(readFileSync(join(src, file)));
  const path = join(cacheDir(), 'tailscale-contract', hash.digest('hex').slice(0, 16), 'tailscale-contract');
  if (!existsSync(path)) throw new Error(`${path} is missing: run tools/setup.sh tailscale-contract`);
  return path;
}

let sim: TailscaleSimulator;
beforeAll(async () => {
  sim = await startTailscaleSimulator();
  await sim.admin.setPolicy({ tagOwners: { 'tag:k8s': ['tag:k8s'] } });
});
afterAll(() => sim.close());

test('every check of the official Go client against the simulator passes', async () => {
  const client = await sim.admin.createOAuthClient({
    scopes: ['devices:core', 'auth_keys', 'services', 'oauth_keys'],
    tags: ['tag:k8s'],
  });
  let stdout: string;
  try {
    ({ stdout } = await run(contractBinary(), [], {
      env: {
        ...process.env,
        TS_CONTRACT_BASE_URL: sim.url,
        TS_CONTRACT_ADMIN_URL: `${sim.url}/__admin`,
        TS_CONTRACT_CLIENT_ID: client.id,
        TS_CONTRACT_CLIENT_SECRET: client.secret,
        TS_CONTRACT_TAGS: 'tag:k8s',
      },
      timeout: 120_000,
    }));
  } catch (err) {
    // Non-zero exit: show which checks failed.
    stdout = (err as { stdout?: string }).stdout ?? String(err);
  }
  const lines = stdout.trim().split('\n');
  const checks = lines.filter((line) => /^(PASS|FAIL|SKIP) /.test(line));
  expect(checks.filter((line) => !line.startsWith('PASS '))).toEqual([]);
  // The areas the contract covers, each with at least one passing check.
  for (const area of ['oauth', 'keys', 'devices', 'services', 'errors']) {
    expect(checks.some((line) => line.startsWith(`PASS ${area}:`))).toBe(true);
  }
  expect(lines.at(-1)).toBe(`${checks.length} passed, 0 failed`);
  expect(stdout).not.toContain(client.secret);
});
