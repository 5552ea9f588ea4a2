/**
 * Bundles workflows/ once (webpack) into dist/ for workers and replay tests: the plain bundle, and one
 * with the OpenTelemetry workflow interceptors that workers load only when traces are on. Both carry
 * the activity summaries for the Temporal UI (workflows/ui-summary-interceptors.ts).
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';

import { tracedWorkflowBundlePath, workflowBundlePath } from '../runtime/paths';

export const workflowBundleFile = workflowBundlePath();

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

async function bundle(file: string, workflowInterceptorModules: string[]) {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules,
    logger: quiet,
  });
  writeFileSync(file, code);
  console.log(`workflow bundle: ${file} (${Math.round(code.length / 1024)} KiB)`);
}

const summaries = require.resolve('../workflows/ui-summary-interceptors');

async function main() {
  await bundle(workflowBundleFile, [summaries]);
  await bundle(tracedWorkflowBundlePath(), [
    summaries,
    require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
  ]);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
