/**
 * What containerboot does on a pod of an ingress ProxyGroup of Tailscale's own operator
 * (cmd/containerboot/ingressservices.go): once it has applied the VIP → ClusterIP mappings of its
 * config file, it reports them, with its pod IPv4, in the state Secret key `ingress-config.json`. The
 * operator advertises a service on a replica only once that report carries the service's mapping.
 */
import type { ProxyFile } from './dataplane/proxy-files';
import type { ProxySecrets } from './secrets';

export const ingressStatusKey = 'ingress-config.json';

export async function reportIngressServices(
  secrets: ProxySecrets,
  target: { namespace: string; stateSecret: string; podIPv4: string },
  file: ProxyFile | undefined,
): Promise<void> {
  if (!file) return;
  let configs: Record<string, unknown> | undefined;
  if (file.text?.trim()) {
    const parsed = JSON.parse(file.text) as unknown;
    if (parsed && typeof parsed === 'object' && Object.keys(parsed).length)
      configs = parsed as Record<string, unknown>;
  }
  const status = JSON.stringify({ ...(configs ? { configs } : {}), podIPv4: target.podIPv4 });
  const state = await secrets.read(target.namespace, target.stateSecret);
  if (!state || state[ingressStatusKey] === status) return;
  await secrets.patch(target.namespace, target.stateSecret, { [ingressStatusKey]: status });
}
