/**
 * An in-process Tailscale simulator with one tailnet, an OAuth client holding the operator's scopes, a
 * seed device (so the MagicDNS suffix is discoverable), the credentials in a Secret and a
 * TailscaleTailnet pointing at them. Every stored VIP service write is timestamped, so a benchmark
 * knows when a change reached Tailscale without polling the API.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { TailscaleClient } from '../../activities/tailscale/client';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../simulators/tailscale/server';
import { SimulatorState, type VipServiceRecord } from '../../simulators/tailscale/state';
import { provisionTailnet } from '../../tools/stack/tailnet';

export interface VipWrite {
  at: number;
  record: VipServiceRecord;
}

export interface BenchTailnet {
  sim: TailscaleSimulator;
  /** The TailscaleTailnet object's name. */
  name: string;
  dnsSuffix: string;
  api: TailscaleClient;
  /** Every VIP service write the simulator stored, newest last, per service name. */
  writes: Map<string, VipWrite[]>;
  /** Resolves with the first stored write of `service` (at or after now) that `accept` takes. */
  nextWrite(
    service: string,
    accept: (record: VipServiceRecord) => boolean,
    timeoutMs: number,
  ): Promise<VipWrite>;
  close(): Promise<void>;
}

type Waiter = { service: string; accept: (r: VipServiceRecord) => boolean; resolve: (w: VipWrite) => void };

export async function startBenchTailnet(opts: {
  kc: KubeConfig;
  namespace: string;
  name: string;
  labels: Record<string, string>;
}): Promise<BenchTailnet> {
  const dnsSuffix = 'tail5e1f.ts.net';
  const state = SimulatorState.empty();
  const tailnet = state.findTailnet()!;
  tailnet.dnsSuffix = dnsSuffix;
  const writes = new Map<string, VipWrite[]>();
  let waiters: Waiter[] = [];
  const services = tailnet.vipServices;
  const set = services.set.bind(services);
  services.set = (key: string, record: VipServiceRecord) => {
    const write = { at: performance.now(), record };
    const list = writes.get(key) ?? [];
    list.push(write);
    writes.set(key, list);
    const ready = waiters.filter((w) => w.service === key && w.accept(record));
    if (ready.length) {
      waiters = waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve(write);
    }
    return set(key, record);
  };

  const sim = await startTailscaleSimulator({ state });
  const { api } = await provisionTailnet({ ...opts, sim, seedDevice: true });
  // The proxies (tag:k8s) are approved for the bench's services (tag:k8s) by policy, as in an
  // installation: an unapproved host would keep every service polling instead of idle.
  await sim.admin.setPolicy({ autoApprovers: { services: { 'tag:k8s': ['tag:k8s'] } } });

  return {
    sim,
    name: opts.name,
    dnsSuffix,
    api,
    writes,
    nextWrite(service, accept, timeoutMs) {
      return new Promise<VipWrite>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`no write of ${service} reached the simulator within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter: Waiter = {
          service,
          accept,
          resolve: (w) => {
            clearTimeout(timer);
            resolve(w);
          },
        };
        waiters.push(waiter);
      });
    },
    async close() {
      await sim.close();
      await opts.kc
        .makeApiClient(CustomObjectsApi)
        .deleteClusterCustomObject({
          group: 'gateway.tailscale.com',
          version: 'v1alpha1',
          plural: 'tailscaletailnets',
          name: opts.name,
        })
        .catch(() => undefined);
    },
  };
}
