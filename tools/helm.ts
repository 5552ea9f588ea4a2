/**
 * The helm binary tools/setup.sh builds (cached by version) and `helm template` of deploy/chart, for the
 * chart tests. Rendering is client-side only: nothing is installed.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../runtime/paths';
import { cacheDir } from './stack/paths';

const run = promisify(execFile);

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

const versionOf = (tool: string) => readFileSync(join(repoRoot(), 'tools', 'versions', tool), 'utf8').trim();

export function helmBinary(): string {
  const path = join(cacheDir(), 'helm', versionOf('helm'), 'helm');
  if (!existsSync(path)) throw new Error(`helm missing at ${path}: run tools/setup.sh helm`);
  return path;
}

export const chartPath = () => join(repoRoot(), 'deploy', 'chart');

export interface RenderOptions {
  release: string;
  namespace: string;
  valuesFiles?: string[];
  /** --set-string style overrides, key=value. */
  set?: string[];
  includeCrds?: boolean;
  /** Extra APIs .Capabilities reports as served (--api-versions), e.g. cert-manager.io/v1. */
  apiVersions?: string[];
  /** Renders against this cluster (--dry-run=server): `lookup` then sees the objects installed there. */
  kubeconfig?: string;
}

/** `helm template`; rejects with helm's own message (schema or template failure) on a bad value. */
export async function renderChart(opts: RenderOptions): Promise<RenderedObject[]> {
  const args = [
    'template',
    opts.release,
    chartPath(),
    '--namespace',
    opts.namespace,
    // The version the test API server runs, so Capabilities and kubeVersion checks see the real target.
    '--kube-version',
    `v${versionOf('kubernetes')}`,
    ...(opts.includeCrds ? ['--include-crds'] : []),
    ...(opts.apiVersions ?? []).flatMap((v) => ['--api-versions', v]),
    ...(opts.kubeconfig ? ['--dry-run=server', '--kubeconfig', opts.kubeconfig] : []),
    ...(opts.valuesFiles ?? []).flatMap((f) => ['--values', f]),
    ...(opts.set ?? []).flatMap((s) => ['--set', s]),
  ];
  let stdout: string;
  try {
    ({ stdout } = await run(helmBinary(), args, { maxBuffer: 64 * 1024 * 1024 }));
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || String(err));
  }
  return parseAllDocuments(stdout)
    .map((doc) => {
      if (doc.errors.length) throw new Error(`helm rendered invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as RenderedObject | null;
    })
    .filter((obj): obj is RenderedObject => Boolean(obj?.kind));
}
