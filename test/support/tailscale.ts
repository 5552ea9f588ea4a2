import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { TailscaleClient } from '../../activities/tailscale/client';
import { createAuthKey } from '../../activities/tailscale/keys';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../simulators/tailscale/server';
import type { CreatedOAuthClient } from '../../simulators/tailscale/admin';

export const operatorScopes = ['devices:core', 'auth_keys', 'services'];

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
  const oauth = await sim.admin.createOAuthClient({
    scopes: opts.scopes ?? operatorScopes,
    tags: ['tag:k8s'],
  });
  const api = new TailscaleClient({ clientId: oauth.id, clientSecret: oauth.secret, baseUrl: sim.url });
  if (!opts.sim) {
    const key = await createAuthKey(api, { preauthorized: true, tags: ['tag:k8s'] });
    await sim.admin.registerDevice({ authKey: key.key, hostname: 'seed-device' });
  }
  const secretName = `${opts.name}-oauth`;
  await opts.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: opts.namespace,
    body: {
      metadata: { name: secretName },
      stringData: { client_id: oauth.id, client_secret: oauth.secret },
    },
  });
  await opts.kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    group: 'gateway.tailscale.com',
    version: 'v1alpha1',
    plural: 'tailscaletailnets',
    body: {
      apiVersion: 'gateway.tailscale.com/v1alpha1',
      kind: 'TailscaleTailnet',
      metadata: { name: opts.name, labels: opts.labels },
      spec: { oauthSecretRef: { namespace: opts.namespace, name: secretName } },
    },
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
