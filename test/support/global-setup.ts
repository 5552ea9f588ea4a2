import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../../tools/stack';

declare global {
  var __tsgwStack: Stack | undefined;
}

/**
 * Starts etcd + kube-apiserver + the Temporal dev server once for the whole run. Test files find them
 * through TSGW_TEST_STACK (the stack.json path); the processes die with jest even if it is killed.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgw-test-'));
  const started = Date.now();
  const stack = await startStack({
    dir,
    ui: false,
    minRequestTimeoutSeconds: 10,
    temporalNamespaces: ['operator-b'],
  });
  globalThis.__tsgwStack = stack;
  process.env.TSGW_TEST_STACK = join(dir, 'stack.json');
  process.stdout.write(`\ntest stack up in ${Date.now() - started} ms (${dir})\n`);
}
