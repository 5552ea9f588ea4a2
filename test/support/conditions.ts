import type { Condition } from '../../api/common';
import { findCondition } from '../../api/conditions';
import { eventually } from './eventually';

/** The fields every condition has: ours, and Kubernetes' own (Pods'), whose status is any string. */
interface AnyCondition {
  type: string;
  status: string;
}

/** Anything with status conditions. */
export interface WithConditions {
  status?: { conditions?: readonly AnyCondition[] | null } | null;
}

/** The condition of `type` (Ready unless given) on an object, or undefined. */
export function conditionOf<C extends AnyCondition>(
  obj: { status?: { conditions?: readonly C[] | null } | null } | undefined,
  type = 'Ready',
): C | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Whether the object's condition of `type` (Ready unless given) is True. */
export const isConditionTrue = (obj: WithConditions | undefined, type = 'Ready'): boolean =>
  conditionOf(obj, type)?.status === 'True';

/** Asserts the condition of `type` matches `want` (a subset of its fields); returns it. */
export function expectCondition(
  obj: { status?: { conditions?: readonly Condition[] } } | undefined,
  type: string,
  want: Partial<Condition>,
): Condition {
  const found = findCondition(obj?.status?.conditions, type);
  expect(found).toMatchObject(want);
  return found!;
}

/**
 * Reads the object until its condition of `type` matches `want` (a subset of its fields); returns the
 * object. The failure names the condition last seen.
 */
export async function waitForCondition<T extends { status?: { conditions?: readonly Condition[] } }>(
  what: string,
  read: () => Promise<T>,
  type: string,
  want: Partial<Condition>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  let last: Condition | undefined;
  try {
    return await eventually(
      `${what}: ${type} ${JSON.stringify(want)}`,
      async () => {
        const obj = await read();
        last = findCondition(obj.status?.conditions, type);
        const matches = last && Object.entries(want).every(([k, v]) => last?.[k as keyof Condition] === v);
        return matches ? obj : undefined;
      },
      opts,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last ${type}: ${JSON.stringify(last)}`);
  }
}

/** Reads the object until it is Ready=True; returns the object. */
export const waitForReady = <T extends { status?: { conditions?: readonly Condition[] } }>(
  what: string,
  read: () => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> => waitForCondition(what, read, 'Ready', { status: 'True' }, opts);
