import { proxiesOf } from '../../support/proxies';
import { EventsV1Api, PatchStrategy, setHeaderOptions, type V1PodSpec } from '@kubernetes/client-node';
import { eventually } from '../../support/eventually';
import { listKeys } from '../../../activities/tailscale/keys';
import { createTestNamespace, uniqueName } from '../../support/stack';
import {
  group,
  proxyParents,
  startProxyHarness,
  version,
  type ProxyHarness,
} from './tailscale-endpoints-harness';

/**
 * Pod-level settings come only from a cluster-scoped TailscaleProxyClass, which admits namespaces by
 * selector and limits tags; the proxies it renders pass Pod Security "restricted" unless the class asks
 * for kernel networking. Classes here are never `default: true`: the cluster is shared by test files.
 */
/** An image the proxy stand-in plays as a tailscaled of capability version 95, below the config we write. */
const oldImage = 'tailscale/tailscale:v1.62.1';

describe('TailscaleProxyClass: who may set what on proxy pods', () => {
  let h: ProxyHarness;
  let endpoints: ReturnType<typeof proxyParents>;
  const classes: string[] = [];

  beforeAll(async () => {
    h = await startProxyHarness('proxyclass', { imageCapVersions: { [oldImage]: 95 } });
    endpoints = proxyParents(h, 'TailscaleEndpoints');
  });

  afterAll(async () => {
    for (const name of classes) {
      await h.objects
        .deleteClusterCustomObject({ group, version, plural: 'tailscaleproxyclasses', name })
        .catch(() => undefined);
    }
    await h?.close();
  });

  const createClass = async (spec: Record<string, unknown>) => {
    const name = uniqueName('class');
    classes.push(name);
    await h.objects.createClusterCustomObject({
      group,
      version,
      plural: 'tailscaleproxyclasses',
      body: { apiVersion: `${group}/${version}`, kind: 'TailscaleProxyClass', metadata: { name }, spec },
    });
    return name;
  };
  const thisNamespace = () => ({ matchLabels: { 'kubernetes.io/metadata.name': h.namespace } });
  const podSpecOf = async (name: string) =>
    (await h.apps.readNamespacedStatefulSet(proxiesOf(h.namespace, name))).spec!.template;

  /** Nothing of the proxies exists: no StatefulSet, no Secret, no auth key. */
  const expectNothingCreated = async (name: string) => {
    await expect(h.apps.readNamespacedStatefulSet(proxiesOf(h.namespace, name))).rejects.toThrow();
    const secrets = await h.core.listNamespacedSecret({
      namespace: proxiesOf(h.namespace, name).namespace,
      labelSelector: `gateway.tailscale.com/parent-namespace=${h.namespace},gateway.tailscale.com/parent-name=${name}`,
    });
    expect(secrets.items).toEqual([]);
    expect((await listKeys(h.tailnet.api)).filter((k) => k.description.startsWith(`${name}-`))).toEqual([]);
  };

  it('renders the pod settings of a class that admits the namespace, and nothing of them from the object', async () => {
    const cls = await createClass({
      namespaceSelector: thisNamespace(),
      tags: ['tag:k8s'],
      image: 'tailscale/tailscale:v1.88.1',
      resources: { requests: { cpu: '10m', memory: '32Mi' } },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'proxies', effect: 'NoSchedule' }],
      labels: { team: 'edge' },
    });
    const name = uniqueName('classy');
    await endpoints.create(name, { proxyClassName: cls, proxy: { replicas: 1 } });
    await endpoints.waitReady(name);
    const template = await podSpecOf(name);
    const pod = template.spec!;
    expect(template.metadata?.labels).toMatchObject({ team: 'edge' });
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'proxies', effect: 'NoSchedule' },
    ]);
    expect(pod.containers[0]!.image).toBe('tailscale/tailscale:v1.88.1');
    expect(pod.containers[0]!.resources?.requests).toEqual({ cpu: '10m', memory: '32Mi' });
    expect(pod.containers[0]!.securityContext?.privileged).toBeUndefined();
  }, 120_000);

  it('the schema no longer takes an image or tolerations from a namespaced object', async () => {
    const attempt = (proxy: Record<string, unknown>) =>
      h.objects.createNamespacedCustomObject({
        group,
        version,
        namespace: h.namespace,
        plural: 'tailscaleendpoints',
        fieldValidation: 'Strict',
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'TailscaleEndpoints',
          metadata: { name: uniqueName('rootkit') },
          spec: { tailnet: h.tailnet.name, tags: ['tag:k8s'], proxy: { replicas: 1, ...proxy } },
        },
      });
    await expect(attempt({ image: 'attacker.example/rootkit:latest' })).rejects.toThrow(
      /unknown field [^a-z]*spec.proxy.image/,
    );
    await expect(attempt({ tolerations: [{ operator: 'Exists' }] })).rejects.toThrow(
      /unknown field [^a-z]*spec.proxy.tolerations/,
    );
  });

  it('refuses a class that does not admit the namespace: a condition, and nothing created', async () => {
    const cls = await createClass({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'somewhere-else' } },
      networking: 'kernel',
      image: 'attacker.example/rootkit:latest',
    });
    const name = uniqueName('denied');
    await endpoints.create(name, { proxyClassName: cls, proxy: { replicas: 1 } });
    const ready = await endpoints.waitReason(name, 'ProxyClassNotPermitted');
    expect(ready.status).toBe('False');
    expect(ready.message).toContain(
      `TailscaleProxyClass ${cls} may not be used from namespace ${h.namespace}`,
    );
    await expectNothingCreated(name);

    const missing = uniqueName('missing');
    await endpoints.create(missing, { proxyClassName: uniqueName('no-such-class'), proxy: { replicas: 1 } });
    expect((await endpoints.waitReason(missing, 'ProxyClassNotFound')).message).toContain(
      'spec.proxyClassName',
    );
    await expectNothingCreated(missing);
  }, 120_000);

  it('refuses tags the class does not allow: a condition, no auth key', async () => {
    const cls = await createClass({ namespaceSelector: thisNamespace(), tags: ['tag:web'] });
    const name = uniqueName('tags');
    await endpoints.create(name, { proxyClassName: cls, proxy: { replicas: 1 } });
    const ready = await endpoints.waitReason(name, 'TagsNotPermitted');
    expect(ready.message).toBe(
      `spec.tags: tag:k8s not allowed by TailscaleProxyClass ${cls} (allowed: tag:web)`,
    );
    await expectNothingCreated(name);
  }, 120_000);

  it('reports proxies too old for the config we write, and recovers once the class names a current image', async () => {
    const cls = await createClass({ namespaceSelector: thisNamespace(), tags: ['tag:k8s'], image: oldImage });
    const name = uniqueName('old');
    const pool = uniqueName('old-pool');
    const groups = proxyParents(h, 'TailscaleProxyGroup');
    await endpoints.create(name, { proxyClassName: cls, proxy: { replicas: 1 } });
    await groups.create(pool, { type: 'ingress', proxyClassName: cls, proxy: { replicas: 1 } });
    expect((await groups.waitReason(pool, 'ProxyVersionTooOld')).message).toContain(`runs ${oldImage}`);
    const ready = await endpoints.waitReason(name, 'ProxyVersionTooOld');
    expect(ready.status).toBe('False');
    expect(ready.message).toContain(`runs ${oldImage} (tailscaled capability version 95)`);
    expect(ready.message).toContain('capability version 106');
    expect(ready.message).toContain(`spec.image of TailscaleProxyClass ${cls}`);
    const events = h.kc.makeApiClient(EventsV1Api);
    await eventually('a Warning Event naming the image', async () => {
      const list = await events.listNamespacedEvent({ namespace: h.namespace });
      return list.items.find(
        (e) =>
          e.regarding?.name === name &&
          e.type === 'Warning' &&
          e.reason === 'ProxyVersionTooOld' &&
          e.note?.includes(oldImage),
      );
    });

    await h.objects.patchClusterCustomObject(
      {
        group,
        version,
        plural: 'tailscaleproxyclasses',
        name: cls,
        body: { spec: { image: 'tailscale/tailscale:v1.102.5' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await endpoints.waitReady(name);
    await groups.waitReady(pool);
  }, 180_000);

  describe('Pod Security admission of the rendered pod (namespace labelled enforce=restricted)', () => {
    let restricted: string;

    beforeAll(async () => {
      restricted = await createTestNamespace(h.kc, 'restricted');
      await h.core.patchNamespace({
        name: restricted,
        body: [
          {
            op: 'add',
            path: '/metadata/labels/pod-security.kubernetes.io~1enforce',
            value: 'restricted',
          },
        ],
      });
    });

    const createPodFrom = (spec: V1PodSpec) =>
      h.core.createNamespacedPod({
        namespace: restricted,
        body: { metadata: { name: uniqueName('proxy-pod') }, spec },
      });

    it('admits the default (userspace) proxy pod and refuses a kernel-networking class pod', async () => {
      const userspace = uniqueName('userspace');
      await endpoints.create(userspace, { proxy: { replicas: 1 } });
      await endpoints.waitReady(userspace);
      const created = await createPodFrom((await podSpecOf(userspace)).spec!);
      expect(created.metadata?.namespace).toBe(restricted);

      const kernelClass = await createClass({ namespaceSelector: thisNamespace(), networking: 'kernel' });
      const kernel = uniqueName('kernel');
      await endpoints.create(kernel, { proxyClassName: kernelClass, proxy: { replicas: 1 } });
      await endpoints.waitReady(kernel);
      const kernelPod = (await podSpecOf(kernel)).spec!;
      expect(kernelPod.containers[0]!.securityContext?.privileged).toBe(true);
      await expect(createPodFrom(kernelPod)).rejects.toThrow(
        /violates PodSecurity [^a-z]*restricted:latest[^a-z]*: privileged/,
      );
    }, 120_000);
  });
});
