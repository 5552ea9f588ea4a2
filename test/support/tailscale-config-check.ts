/**
 * Runs tools/tailscale-config-check (built by `npm run setup`, cached under a hash of its sources as
 * tools/setup.sh keys it) on a config, so tests can check what the operator writes against
 * tailscale.com's own types and loader.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../runtime/paths';
import { cacheDir } from '../../tools/stack/paths';

export type TailscaleConfigKind = 'tailscaled' | 'serve' | 'ingress' | 'egress';

export interface ConfigCheckResult {
  ok: boolean;
  /** The Go error text on failure. */
  error: string;
}

export function tailscaleConfigCheckBinary(): string {
  const src = join(repoRoot(), 'tools', 'tailscale-config-check');
  const files = [
    'go.mod',
    'go.sum',
    ...readdirSync(src)
      .filter((f) => f.endsWith('.go'))
      .sort(),
  ];
  const hash = createHash('sha256');
  for (const f of files) hash.update(readFileSync(join(src, f)));
  const path = join(
    cacheDir(),
    'tailscale-config-check',
    hash.digest('hex').slice(0, 16),
    'tailscale-config-check',
  );
  if (!existsSync(path)) {
    throw new Error(
      `tailscale-config-check missing at ${path} (its sources changed or it was never built): run npm run setup`,
    );
  }
  return path;
}

/** Checks one config (an object is written as JSON, a string as is) of the given kind. */
export async function checkTailscaleConfig(
  kind: TailscaleConfigKind,
  config: unknown,
): Promise<ConfigCheckResult> {
  const binary = tailscaleConfigCheckBinary();
  const dir = mkdtempSync(join(tmpdir(), 'ts-config-check-'));
  const file = join(dir, kind === 'tailscaled' ? 'cap-106.hujson' : `${kind}.json`);
  try {
    writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
    return await new Promise<ConfigCheckResult>((resolve, reject) => {
      execFile(binary, [kind, file], (err, _stdout, stderr) => {
        if (!err) return resolve({ ok: true, error: '' });
        if (err.code === 1) return resolve({ ok: false, error: stderr.trim().replace(`${file}: `, '') });
        reject(new Error(`tailscale-config-check failed to run: ${stderr || err.message}`));
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
