import type { KubeConfig } from '@kubernetes/client-node';
import type { TailscaleClient } from '../../activities/tailscale/client';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../simulators/tailscale/server';
import type { CreatedOAuthClient } from '../../simulators/tailscale/admin';
import { operatorOAuthScopes, provisionTailnet } from '../../tools/stack/tailnet';
import { startStandInHosts, type StandInHosts } from './stand-in-hosts';

export const operatorScopes = operatorOAuthScopes;

/**
 * The tailnet policy tests run with unless they say otherwise: proxies (tag:k8s) hosting a service with
 * one of the tags tests give their services are approved by policy, as an installation's policy would
 * say. Without it no host is approved and no VIP service is Ready (tests of approval opt out).
 */
export const testAutoApprovers: Record<string, string[]> = Object.fromEntries(
  ['tag:web', 'tag:gw', 'tag:api', 'tag:k8s'].map((serviceTag) => [serviceTag, ['tag:k8s']]),
);

/** Stand-in hosts per simulator and namespace: tailnets sharing both share one. */
const standIns = new Map<string, StandInHosts>();

export interface TestTailnet {
  sim: TailscaleSimulator;
  oauth: CreatedOAuthClient;
  /** The TailscaleTailnet object's name. */
  name: string;
  dnsSuffix: string;
  /** An API client with the same OAuth credentials as the operator's (for asserting on Tailscale state). */
  api: TailscaleClient;
  close(): Promise<void>;
}

/**
 * A Tailscale simulator with an OAuth client, one device (so the MagicDNS suffix is discoverable), the
 * credentials in a Secret, and a TailscaleTailnet pointing at them, labelled for the test's operator.
 */
export async function startTestTailnet(opts: {
  kc: KubeConfig;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  sim?: TailscaleSimulator;
  scopes?: string[];
  dnsSuffix?: string;
  /** Give the tailnet testAutoApprovers (default true; on a shared simulator, the same policy again). */
  autoApprove?: boolean;
  /** Where the test's operator puts proxies (its OPERATOR_NAMESPACE); unset: the stack's. */
  operatorNamespace?: string;
}): Promise<TestTailnet> {
  const dnsSuffix = opts.dnsSuffix ?? 'tail5e1f.ts.net';
  const sim = opts.sim ?? (await startTailscaleSimulator({ dnsSuffix }));
  const { oauth, api } = await provisionTailnet({
    kc: opts.kc,
    sim,
    namespace: opts.namespace,
    name: opts.name,
    labels: opts.labels,
    scopes: opts.scopes,
    seedDevice: !opts.sim,
  });
  if (opts.autoApprove !== false) {
    await sim.admin.setPolicy({ autoApprovers: { services: testAutoApprovers } });
  }
  const standInKey = `${sim.url} ${opts.namespace}`;
  const standIn = standIns.has(standInKey)
    ? undefined
    : startStandInHosts({
        kc: opts.kc,
        namespace: opts.namespace,
        operatorNamespace: opts.operatorNamespace,
        admin: sim.admin,
        api,
      });
  if (standIn) standIns.set(standInKey, standIn);
  return {
    sim,
    oauth,
    name: opts.name,
    dnsSuffix,
    api,
    async close() {
      if (standIn) {
        standIns.delete(standInKey);
        await standIn.stop();
      }
      if (!opts.sim) await sim.close();
    },
  };
}
