import { benchStack, type BenchStack } from '../../../bench/support/stack';

/** A benchmark's log, silenced: the toy runs assert on figures, not on output. */
export const quiet = () => undefined;

/**
 * The bench stack for the calling test file (the shared test stack), from its beforeAll to its afterAll.
 * Call it in a `describe` body; `stack` is usable from the tests.
 */
export function useBenchStack(): { readonly stack: BenchStack } {
  let stack: BenchStack | undefined;
  beforeAll(async () => {
    stack = await benchStack(quiet);
  });
  afterAll(async () => {
    await stack?.stop();
  });
  return {
    get stack() {
      if (!stack) throw new Error('the bench stack starts in beforeAll: use it inside a test');
      return stack;
    },
  };
}
