/**
 * Proxies whose tailscaled is older than the one config file we write (`cap-<minimum>.hujson`, see
 * ../specs/tailscaled-config.ts). containerboot picks the highest `cap-<N>` file with N at most its own
 * capability version and exits when none fits. It writes `tailscale_capver` to the state Secret only
 * from capability version 109 on, and only after that check, so a proxy this old is known by its exit:
 * the container's termination message in the pod status (the last log line). A `tailscale_capver` below
 * the minimum, written by the running pod, counts too.
 */
import type { WireObject } from '../kubernetes/apply';
import { minimumProxyCapVersion } from '../specs/tailscaled-config';
import type { ProxyReplicaState } from './state-secret';

export interface ProxyTooOld {
  pod: string;
  image: string;
  /** Its tailcfg.CurrentCapabilityVersion, when the proxy told it. */
  capVersion?: number;
}

interface ContainerStatus {
  name?: string;
  image?: string;
  ready?: boolean;
  state?: { terminated?: { message?: string } };
  lastState?: { terminated?: { message?: string } };
}

// cmd/containerboot/main.go tailscaledConfigFilePath; before capability version 107 the number was
// printed with %q, i.e. as a quoted character.
const noConfigFile = /no tailscaled config file found in "[^"]*" for current capability version ('.'|-?\d+)/u;

/** Whether this replica's proxy cannot load our config because of its version, and what it runs. */
export function proxyTooOld(
  pod: WireObject | undefined,
  state: Pick<ProxyReplicaState, 'capVersion' | 'podUid'>,
): ProxyTooOld | undefined {
  if (!pod) return undefined;
  const spec = pod.spec as { containers?: { name: string; image?: string }[] } | undefined;
  const statuses = (pod.status as { containerStatuses?: ContainerStatus[] } | undefined)?.containerStatuses;
  const imageOf = (name?: string) =>
    spec?.containers?.find((c) => c.name === name)?.image ?? spec?.containers?.[0]?.image ?? '';
  for (const status of statuses ?? []) {
    if (status.ready) continue;
    const message = status.state?.terminated?.message ?? status.lastState?.terminated?.message;
    const match = message === undefined ? null : noConfigFile.exec(message);
    if (!match) continue;
    const shown = match[1]!;
    const capVersion = shown.startsWith("'") ? shown.codePointAt(1)! : Number(shown);
    return { pod: pod.metadata.name, image: imageOf(status.name), capVersion };
  }
  if (
    state.capVersion !== undefined &&
    state.capVersion < minimumProxyCapVersion &&
    state.podUid !== undefined &&
    state.podUid === pod.metadata.uid
  ) {
    return { pod: pod.metadata.name, image: imageOf(), capVersion: state.capVersion };
  }
  return undefined;
}

/** What the user reads, and what to change: the class's image. */
export function proxyTooOldMessage(tooOld: readonly ProxyTooOld[], proxyClassName?: string): string {
  const which = tooOld
    .map(
      (p) =>
        `${p.pod} runs ${p.image || 'an image'} (tailscaled capability version ${p.capVersion ?? `below ${minimumProxyCapVersion}`})`,
    )
    .join('; ');
  const where = proxyClassName
    ? `spec.image of TailscaleProxyClass ${proxyClassName}`
    : 'spec.image of the TailscaleProxyClass these proxies use';
  return `${which}: the operator writes the tailscaled config for capability version ${minimumProxyCapVersion}, which these proxies cannot load. Set ${where} to a tailscale image of capability version ${minimumProxyCapVersion} or later`;
}
