/** Bundles workflows/ once (webpack) into dist/workflow-bundle.js for workers and replay tests. */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';

import { workflowBundlePath } from '../runtime/paths';

export const workflowBundleFile = workflowBundlePath();

async function main() {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  writeFileSync(workflowBundleFile, code);
  console.log(`workflow bundle: ${workflowBundleFile} (${Math.round(code.length / 1024)} KiB)`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
