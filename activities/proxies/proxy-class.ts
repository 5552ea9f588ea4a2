import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { resourceOf } from '../../api/crd';
import { selectorMatches } from '../../api/label-selector';
import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import { tailscaleProxyClassCrd, type TailscaleProxyClass } from '../../api/v1alpha1/tailscale-proxy-class';
import type { CustomObjects } from '../kubernetes/custom-objects';
import { isNotFound } from '../kubernetes/errors';
import { builtinProxyPodSettings, defaultProxyImage, type ProxyPodSettings } from '../specs/proxy-group';
import { allowListMessage, tagsOutside } from './allowed-tags';

export const proxyClassResource = resourceOf(tailscaleProxyClassCrd);

export interface ProxyClassDeps {
  objects: CustomObjects;
  kube: KubeConfig;
  /** The admin allow-list of tags, when no class limits them; empty or absent: any tag. */
  allowedTags?: string[];
}

type Refusal = 'ProxyClassNotFound' | 'ProxyClassNotPermitted' | 'TagsNotPermitted';

const refuse = (type: Refusal, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

/**
 * The pod settings of a proxy, from the class it names (or the default class, or the built-in
 * defaults when the cluster has no default class), once the class admits the object's namespace and
 * tags. Refusals are non-retryable failures the workflow reports as conditions; nothing is created.
 */
export async function resolveProxyClass(deps: ProxyClassDeps, d: ProxyDeployment): Promise<ProxyPodSettings> {
  const cls = d.proxyClassName ? await namedClass(deps, d.proxyClassName) : await defaultClass(deps);
  if (!cls?.spec.tags) {
    const allowList = deps.allowedTags ?? [];
    const outside = tagsOutside(allowList, d.tags);
    if (outside.length) throw refuse('TagsNotPermitted', allowListMessage('spec.tags', outside, allowList));
  }
  if (!cls) return builtinProxyPodSettings;
  const where = d.proxyClassName ? 'spec.proxyClassName' : 'the default TailscaleProxyClass';
  if (!(await namespaceMayUse(deps, cls, d.namespace))) {
    throw refuse(
      'ProxyClassNotPermitted',
      `${where}: TailscaleProxyClass ${cls.metadata.name} may not be used from namespace ${d.namespace} (its spec.namespaceSelector does not select it); ask a cluster admin to allow it or pick another class`,
    );
  }
  const allowed = cls.spec.tags;
  const denied = allowed ? d.tags.filter((t) => !allowed.includes(t)) : [];
  if (denied.length) {
    throw refuse(
      'TagsNotPermitted',
      `spec.tags: ${denied.join(', ')} not allowed by TailscaleProxyClass ${cls.metadata.name} (allowed: ${allowed!.join(', ') || 'none'})`,
    );
  }
  return settingsOf(cls);
}

async function namedClass(deps: ProxyClassDeps, name: string): Promise<TailscaleProxyClass> {
  try {
    return await deps.objects.get<TailscaleProxyClass>(proxyClassResource, { name });
  } catch (err) {
    if (isNotFound(err)) {
      throw refuse(
        'ProxyClassNotFound',
        `spec.proxyClassName: TailscaleProxyClass ${name} does not exist; ask a cluster admin for the classes you may use`,
      );
    }
    throw err;
  }
}

/** The one class marked default; several are a cluster admin's mistake, resolved by name order. */
async function defaultClass(deps: ProxyClassDeps): Promise<TailscaleProxyClass | undefined> {
  const classes = await deps.objects.list<TailscaleProxyClass>(proxyClassResource, {});
  return classes
    .filter((c) => c.spec.default === true && !c.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))[0];
}

async function namespaceMayUse(deps: ProxyClassDeps, cls: TailscaleProxyClass, namespace: string) {
  const selector = cls.spec.namespaceSelector;
  if (!selector) return cls.spec.default === true;
  const ns = await deps.kube.makeApiClient(CoreV1Api).readNamespace({ name: namespace });
  return selectorMatches(selector, ns.metadata?.labels ?? {});
}

function settingsOf(cls: TailscaleProxyClass): ProxyPodSettings {
  const spec = cls.spec;
  const settings: ProxyPodSettings = {
    className: cls.metadata.name,
    networking: spec.networking ?? 'userspace',
    image: spec.image ?? defaultProxyImage,
  };
  if (spec.resources) settings.resources = spec.resources;
  if (spec.securityContext) settings.securityContext = spec.securityContext;
  if (spec.podSecurityContext) settings.podSecurityContext = spec.podSecurityContext;
  if (spec.nodeSelector) settings.nodeSelector = spec.nodeSelector;
  if (spec.tolerations) settings.tolerations = spec.tolerations;
  if (spec.affinity) settings.affinity = spec.affinity;
  if (spec.labels) settings.labels = spec.labels;
  if (spec.annotations) settings.annotations = spec.annotations;
  return settings;
}
