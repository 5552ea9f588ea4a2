import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { TailscaleClient } from '../../activities/tailscale/client';
import { createAuthKey } from '../../activities/tailscale/keys';
import { parseHujson } from '../../activities/specs/hujson';
import { proxyLabelKeys } from '../../activities/specs/proxy-group';
import { tailscaledConfigKey } from '../../activities/specs/tailscaled-config';
import { isRecord } from '../../activities/tailscale/response-shape';
import type { TailscaleSimulatorAdmin } from '../../simulators/tailscale/admin';
import { standInLabel } from './proxies';
import { stackInfo } from './stack';

export interface StandInHosts {
  stop(): Promise<void>;
}

interface Host {
  nodeId: string;
  advertised: string[];
}

/**
 * The tailscaled of stand-in proxies: tests create TailscaleEndpoints that no endpoints workflow
 * manages, with only a config Secret per replica (test/support/objects.ts createProxyEndpoints), so no
 * proxy simulator logs them in. This logs each such Secret's replica in (tag:k8s) and advertises what
 * its AdvertiseServices lists, as a real proxy would: a VIP service is Ready only with an advertising,
 * approved host. Secrets the operator manages are the proxy simulator's.
 */
export function startStandInHosts(opts: {
  kc: KubeConfig;
  namespace: string;
  operatorNamespace?: string;
  admin: Pick<TailscaleSimulatorAdmin, 'registerDevice' | 'advertiseServices' | 'unadvertiseServices'>;
  api: TailscaleClient;
  intervalMs?: number;
}): StandInHosts {
  const core = opts.kc.makeApiClient(CoreV1Api);
  const hosts = new Map<string, Host>();
  let stopped = false;

  const sync = async () => {
    // Hand-made config Secrets of this namespace's parents, in the operator namespace (placement).
    const { items } = await core.listNamespacedSecret({
      namespace: opts.operatorNamespace ?? stackInfo().operatorNamespace,
      labelSelector: `${standInLabel}=true,${proxyLabelKeys.parentNamespace}=${opts.namespace}`,
    });
    const seen = new Set<string>();
    for (const secret of items) {
      const name = secret.metadata?.name ?? '';
      const raw = secret.data?.[tailscaledConfigKey];
      if (!name.endsWith('-config') || raw === undefined) continue;
      seen.add(name);
      const config = parseHujson(Buffer.from(raw, 'base64').toString());
      const wanted =
        isRecord(config) && Array.isArray(config.AdvertiseServices) ? config.AdvertiseServices : [];
      const services = wanted.filter((s): s is string => typeof s === 'string');
      let host = hosts.get(name);
      if (!host) {
        const key = await createAuthKey(opts.api, { preauthorized: true, tags: ['tag:k8s'] });
        const hostname =
          isRecord(config) && typeof config.Hostname === 'string' ? config.Hostname : name.slice(0, -7);
        const device = await opts.admin.registerDevice({ authKey: key.key, hostname });
        host = { nodeId: device.nodeId, advertised: [] };
        hosts.set(name, host);
      }
      await advertise(host, services);
    }
    for (const [name, host] of hosts) if (!seen.has(name)) await advertise(host, []);
  };
  const advertise = async (host: Host, services: string[]) => {
    const add = services.filter((s) => !host.advertised.includes(s));
    const remove = host.advertised.filter((s) => !services.includes(s));
    if (add.length) await opts.admin.advertiseServices({ nodeId: host.nodeId, services: add });
    if (remove.length) await opts.admin.unadvertiseServices({ nodeId: host.nodeId, services: remove });
    host.advertised = services;
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await sync();
      } catch {
        // The namespace or the simulator going away at the end of a test; the next round tries again.
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500).unref());
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
