/**
 * Writes the Helm chart's generated parts from their single sources: deploy/chart/crds/ from the schema
 * sources in api/v1alpha1 (the same renderer as deploy/crds), and deploy/chart/files/ from
 * deploy/envoy-gateway/. With --check it writes nothing and exits 1 when the chart is stale.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../runtime/paths';
import { renderCrds } from './generate-crds';

/** Chart-relative path → content, for every file the chart takes from elsewhere. */
export function renderChartCopies(root = repoRoot()): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, content] of renderCrds()) files.set(join('crds', name), content);
  for (const [from, to] of [
    ['extension-manager.yaml', 'files/extension-manager.yaml'],
    ['rbac.yaml', 'files/envoy-gateway-rbac.yaml'],
  ] as const) {
    const source = readFileSync(join(root, 'deploy', 'envoy-gateway', from), 'utf8');
    const header = `# Copied from deploy/envoy-gateway/${from} by tools/sync-chart.ts (npm run chart:sync). Do not edit.\n`;
    files.set(to, header + source);
  }
  return files;
}

export function chartDir(root = repoRoot()): string {
  return join(root, 'deploy', 'chart');
}

/** Files that differ from what they should be, plus generated-directory files with no source. */
export function staleChartFiles(root = repoRoot()): string[] {
  const dir = chartDir(root);
  const want = renderChartCopies(root);
  const stale = [...want].filter(([rel, content]) => {
    const path = join(dir, rel);
    return !existsSync(path) || readFileSync(path, 'utf8') !== content;
  });
  const crds = join(dir, 'crds');
  const extra = existsSync(crds)
    ? readdirSync(crds)
        .map((f) => join('crds', f))
        .filter((rel) => !want.has(rel))
    : [];
  return [...stale.map(([rel]) => rel), ...extra];
}

function main() {
  const root = repoRoot();
  const stale = staleChartFiles(root);
  if (parseArgs({ options: { check: { type: 'boolean', default: false } } }).values.check) {
    if (stale.length) {
      console.error(`deploy/chart is out of date (${stale.join(', ')}): run npm run chart:sync`);
      process.exit(1);
    }
    return;
  }
  const dir = chartDir(root);
  const want = renderChartCopies(root);
  for (const rel of stale) {
    const path = join(dir, rel);
    const content = want.get(rel);
    if (content === undefined) {
      rmSync(path);
      continue;
    }
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  }
  console.log(stale.length ? `wrote ${stale.join(', ')}` : 'deploy/chart up to date');
}

if (require.main === module) main();
