import type { TailscaleSimulatorAdmin } from '../../../simulators/tailscale/admin';
import type { RequestCounts } from '../../../simulators/tailscale/counters';
import type { FaultRule, FaultSpec } from '../../../simulators/tailscale/faults';
import { eventually } from '../../support/eventually';

/** Adds a fault and returns a probe for how often it has fired. */
export async function injectFault(admin: TailscaleSimulatorAdmin, spec: FaultSpec) {
  const rule = await admin.addFault(spec);
  const current = async (): Promise<FaultRule | undefined> =>
    (await admin.listFaults()).find((r) => r.id === rule.id);
  return {
    id: rule.id,
    fired: async () => (await current())?.fired ?? 0,
    /** When each hit arrived at the simulator (ms since the epoch). */
    firedAt: async () => (await current())?.firedAt ?? [],
    /** Requests the rule matched, fired or not (a rule with rate 0 just counts). */
    matched: async () => (await current())?.matched ?? 0,
    /** Resolves once the fault has hit `n` requests (e.g. a write is being held by a latency fault). */
    waitFired: (n = 1, timeoutMs = 60_000) =>
      eventually(
        `fault ${spec.kind} on ${spec.method ?? '*'} ${spec.path ?? '**'} fired ${n}x`,
        async () => ((await current())?.fired ?? 0) >= n || undefined,
        { timeoutMs, intervalMs: 50 },
      ),
    remove: () => admin.removeFault(rule.id),
  };
}

/** Requests counted for routes matching `method` and a route-template pattern. */
export function requestsTo(counts: RequestCounts, method: string, route: RegExp): number {
  return Object.entries(counts.routes)
    .filter(([key]) => key.startsWith(`${method} `) && route.test(key.slice(method.length + 1)))
    .reduce((n, [, c]) => n + c, 0);
}

export const vipItemRoute = /\/(vip-)?services\/\{name\}$/;
export const vipListRoute = /\/(vip-)?services$/;
