import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, found from this file whether it runs from source (jest) or from dist/. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('/dist')) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** The prebuilt workflow bundle (npm run build), so workers start and replays run without webpack. */
export function workflowBundlePath(): string {
  return join(repoRoot(), 'dist', 'workflow-bundle.js');
}

/** The same workflows bundled with the OpenTelemetry workflow interceptors, used when traces are on. */
export function tracedWorkflowBundlePath(): string {
  return join(repoRoot(), 'dist', 'workflow-bundle-traced.js');
}
