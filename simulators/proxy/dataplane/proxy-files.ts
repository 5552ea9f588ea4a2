/**
 * The proxy's config files as the kubelet would mount them (there is no kubelet here): from the pod
 * spec, the env var naming the file (`TS_SERVE_CONFIG`) or directory (`TS_EGRESS_PROXIES_CONFIG_PATH`),
 * the volume mounted at that directory, and the ConfigMap key behind the file name, read through the
 * kube API. A file the mount does not provide reads as missing, as containerboot would see it.
 */
import { posix } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1PodSpec } from '@kubernetes/client-node';
import { isNotFound } from '../../../activities/kubernetes/errors';

export const serveConfigEnv = 'TS_SERVE_CONFIG';
export const egressConfigDirEnv = 'TS_EGRESS_PROXIES_CONFIG_PATH';
export const egressConfigFile = 'egress-services';
/** Tailscale's own operator's ingress ProxyGroups: the Services' VIP → ClusterIP mappings file. */
export const ingressConfigEnv = 'TS_INGRESS_PROXIES_CONFIG_PATH';

export interface ProxyFile {
  /** The path inside the container. */
  path: string;
  /** The file's bytes as UTF-8, or undefined when it does not exist. */
  text?: string;
}

export interface ProxyFiles {
  serve?: ProxyFile;
  egress?: ProxyFile;
  ingress?: ProxyFile;
}

/** Where each file would be: the ConfigMap and key behind a path, if a configMap volume holds it. */
export function locateFile(
  spec: V1PodSpec | undefined,
  path: string,
): { configMap: string; key: string } | undefined {
  const dir = posix.normalize(`${posix.dirname(path)}/`);
  const file = posix.basename(path);
  const mount = spec?.containers
    .flatMap((c) => c.volumeMounts ?? [])
    .find((m) => posix.normalize(`${m.mountPath}/`) === dir && !m.subPath);
  const configMap = mount && spec?.volumes?.find((v) => v.name === mount.name)?.configMap;
  if (!configMap?.name) return undefined;
  if (configMap.items?.length) {
    const item = configMap.items.find((i) => posix.normalize(i.path) === file);
    return item ? { configMap: configMap.name, key: item.key } : undefined;
  }
  return { configMap: configMap.name, key: file };
}

/** The env value of the proxy container (the first one that sets it). */
export function envValue(spec: V1PodSpec | undefined, name: string): string | undefined {
  for (const container of spec?.containers ?? []) {
    const value = container.env?.find((e) => e.name === name)?.value;
    if (value !== undefined) return value;
  }
  return undefined;
}

export class ProxyFileReader {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Both files of a pod in `namespace` (the pod's own namespace), read afresh. */
  async read(namespace: string, spec: V1PodSpec | undefined): Promise<ProxyFiles> {
    const servePath = envValue(spec, serveConfigEnv);
    const egressDir = envValue(spec, egressConfigDirEnv);
    const ingressPath = envValue(spec, ingressConfigEnv);
    const cache = new Map<string, Promise<Record<string, string> | undefined>>();
    const configMapData = (name: string) => {
      if (!cache.has(name)) cache.set(name, this.configMapData(namespace, name));
      return cache.get(name)!;
    };
    const readFile = async (path: string): Promise<ProxyFile> => {
      const where = locateFile(spec, path);
      if (!where) return { path };
      return { path, text: (await configMapData(where.configMap))?.[where.key] };
    };
    const files: ProxyFiles = {};
    if (servePath) files.serve = await readFile(servePath);
    if (egressDir) files.egress = await readFile(posix.join(egressDir, egressConfigFile));
    if (ingressPath) files.ingress = await readFile(ingressPath);
    return files;
  }

  private async configMapData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const cm = await this.core.readNamespacedConfigMap({ namespace, name });
      return {
        ...cm.data,
        ...Object.fromEntries(
          Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
        ),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
