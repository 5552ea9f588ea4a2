import type { KubeConfig } from '@kubernetes/client-node';
import type { TailscaleClient } from '../../activities/tailscale/client';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../simulators/tailscale/server';
import type { CreatedOAuthClient } from '../../simulators/tailscale/admin';
import { operatorOAuthScopes, provisionTailnet } from '../../tools/stack/tailnet';

export const operatorScopes = operatorOAuthScopes;

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
  return {
    sim,
    oauth,
    name: opts.name,
    dnsSuffix,
    api,
    close: () => (opts.sim ? Promise.resolve() : sim.close()),
  };
}
