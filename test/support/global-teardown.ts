import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const stack = globalThis.__tsgwStack;
  if (!stack) return;
  await stack.stop();
  if (!process.env.TSGW_KEEP_TEST_STACK) rmSync(stack.info.dir, { recursive: true, force: true });
}
