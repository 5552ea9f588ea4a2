/** A replica's serve and egress configs, decoded as containerboot would; refusals throw ProxyConfigRefused. */
import { loadEgressConfigs, type EgressConfigs } from './egress-config';
import type { ProxyFiles } from './proxy-files';
import { loadServeConfig, type ServeConfig } from './serve-config';

export interface ProxyConfigs {
  serve?: ServeConfig;
  egress?: EgressConfigs;
}

export function loadProxyConfigs(
  files: ProxyFiles,
  opts: { certDomain: string; tailscaledConfigLocked: boolean },
): ProxyConfigs {
  const configs: ProxyConfigs = {};
  if (files.serve) {
    const serve = loadServeConfig(files.serve.path, files.serve.text, opts);
    if (serve) configs.serve = serve;
  }
  if (files.egress) {
    const egress = loadEgressConfigs(files.egress.path, files.egress.text);
    if (egress) configs.egress = egress;
  }
  return configs;
}

/** Equal digests: the replica would see no file event. */
export const filesDigest = (files: ProxyFiles): string => JSON.stringify(files);
