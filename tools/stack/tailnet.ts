import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { TailscaleClient } from '../../activities/tailscale/client';
import { createAuthKey } from '../../activities/tailscale/keys';
import type { CreatedOAuthClient } from '../../simulators/tailscale/admin';
import type { TailscaleSimulator } from '../../simulators/tailscale/server';

/** The scopes the operator's OAuth client needs. */
export const operatorOAuthScopes = ['devices:core', 'auth_keys', 'services'];

/**
 * On a running simulator: an OAuth client, optionally a seed device (so the MagicDNS suffix is
 * discoverable), the credentials in a Secret and a TailscaleTailnet pointing at them.
 */
export async function provisionTailnet(opts: {
  kc: KubeConfig;
  sim: TailscaleSimulator;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  scopes?: string[];
  seedDevice: boolean;
}): Promise<{ oauth: CreatedOAuthClient; api: TailscaleClient }> {
  const { sim } = opts;
  const oauth = await sim.admin.createOAuthClient({
    scopes: opts.scopes ?? operatorOAuthScopes,
    tags: ['tag:k8s'],
  });
  const api = new TailscaleClient({ clientId: oauth.id, clientSecret: oauth.secret, baseUrl: sim.url });
  if (opts.seedDevice) {
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
  return { oauth, api };
}
