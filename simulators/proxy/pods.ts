/**
 * The StatefulSet controller and kubelet, as far as the proxies need them: pods `<sts>-<i>` created
 * from the template (recreated, with a new UID, when the template changes), marked Running, and Ready
 * once their proxy serves; StatefulSet status counts them. There is no controller-manager or kubelet
 * on the test API server, so without this nothing would ever run.
 */
import { createHash } from 'node:crypto';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
  type V1PodSpec,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { KubeObjects, type WireObject } from '../../activities/kubernetes/apply';
import { isNotFound } from '../../activities/kubernetes/errors';

const revisionLabel = 'controller-revision-hash';
const podNameLabel = 'statefulset.kubernetes.io/pod-name';
const podIndexLabel = 'apps.kubernetes.io/pod-index';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface SimulatedPod {
  name: string;
  uid: string;
  spec?: V1PodSpec;
}

export class PodController {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly objects: KubeObjects;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.objects = new KubeObjects(kc, 'tailscale-proxy-simulator');
  }

  async readStatefulSet(namespace: string, name: string): Promise<V1StatefulSet | undefined> {
    try {
      return await this.apps.readNamespacedStatefulSet({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The pods of a StatefulSet by name (`<sts>-<ordinal>`). */
  async pods(sts: V1StatefulSet): Promise<Map<string, V1Pod>> {
    const namespace = sts.metadata!.namespace!;
    const list = await this.core.listNamespacedPod({ namespace, labelSelector: selectorOf(sts) });
    const owned = list.items.filter((pod) =>
      pod.metadata?.ownerReferences?.some((r) => r.uid === sts.metadata?.uid),
    );
    return new Map(owned.map((pod) => [pod.metadata!.name!, pod]));
  }

  /** The pod for `ordinal`, created (or recreated, when its template is outdated) as needed. */
  async ensurePod(sts: V1StatefulSet, ordinal: number, existing: V1Pod | undefined): Promise<SimulatedPod> {
    const revision = templateRevision(sts);
    if (existing && existing.metadata?.labels?.[revisionLabel] === revision) return podOf(existing);
    if (existing) await this.deletePod(sts.metadata!.namespace!, existing.metadata!.name!);
    const name = `${sts.metadata!.name}-${ordinal}`;
    const template = sts.spec!.template;
    const pod: WireObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: sts.metadata!.namespace,
        labels: {
          ...(template.metadata?.labels ?? {}),
          [podNameLabel]: name,
          [podIndexLabel]: String(ordinal),
          [revisionLabel]: revision,
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            name: sts.metadata!.name!,
            uid: sts.metadata!.uid!,
            controller: true,
          },
        ],
      },
      spec: { ...template.spec, hostname: name },
    };
    await this.objects.applyIfChanged(pod, undefined);
    const created = await this.core.readNamespacedPod({ namespace: sts.metadata!.namespace!, name });
    return podOf(created);
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Running, and Ready when its proxy serves; written only when that changes. A proxy that exited on
   * its config shows as kubelet shows a crash-looping container whose terminationMessagePolicy is
   * FallbackToLogsOnError: the last log line as the termination message.
   */
  async setPodStatus(
    pod: V1Pod | undefined,
    namespace: string,
    name: string,
    ready: boolean,
    crashed?: string,
  ): Promise<void> {
    const current = pod ?? (await this.core.readNamespacedPod({ namespace, name }));
    const wasReady = current.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const container = current.spec?.containers[0];
    const message = crashed === undefined ? undefined : `boot: ${goLogTime()} ${crashed}\n`;
    const lastMessage = current.status?.containerStatuses?.[0]?.lastState?.terminated?.message;
    const sameCrash =
      crashed === undefined ? lastMessage === undefined : lastMessage?.endsWith(` ${crashed}\n`);
    if (current.status?.phase === 'Running' && wasReady === ready && sameCrash) return;
    const podIP = podIPOf(namespace, name);
    const containerStatus = container && {
      name: container.name,
      image: container.image ?? '',
      imageID: '',
      ready,
      restartCount: message ? 1 : 0,
      ...(message
        ? {
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', message } },
          }
        : { state: { running: {} }, lastState: {} }),
    };
    await this.core.patchNamespacedPodStatus(
      {
        namespace,
        name,
        body: {
          status: {
            phase: 'Running',
            podIP,
            podIPs: [{ ip: podIP }],
            conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
            ...(containerStatus ? { containerStatuses: [containerStatus] } : {}),
          },
        },
      },
      mergePatch,
    );
  }

  /** What the StatefulSet controller would report; written only when it changes. */
  async setStatefulSetStatus(sts: V1StatefulSet, pods: number, ready: number): Promise<void> {
    const status = {
      observedGeneration: sts.metadata?.generation,
      replicas: pods,
      readyReplicas: ready,
      currentReplicas: pods,
      updatedReplicas: pods,
      availableReplicas: ready,
      currentRevision: `${sts.metadata?.name}-${templateRevision(sts)}`,
      updateRevision: `${sts.metadata?.name}-${templateRevision(sts)}`,
    };
    const live = (sts.status ?? {}) as unknown as Record<string, unknown>;
    const same = Object.entries(status).every(
      ([k, v]) => live[k] === v || (v === 0 && live[k] === undefined),
    );
    if (same) return;
    await this.apps.patchNamespacedStatefulSetStatus(
      { namespace: sts.metadata!.namespace!, name: sts.metadata!.name!, body: { status } },
      mergePatch,
    );
  }
}

export function selectorOf(sts: V1StatefulSet): string {
  return Object.entries(sts.spec?.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function templateRevision(sts: V1StatefulSet): string {
  return createHash('sha256')
    .update(JSON.stringify(sts.spec?.template ?? {}))
    .digest('hex')
    .slice(0, 10);
}

const podOf = (pod: V1Pod): SimulatedPod => ({
  name: pod.metadata!.name!,
  uid: pod.metadata!.uid!,
  spec: pod.spec,
});

/**
 * The pod's IP, 10.244.x.y, stable per pod name; from the name, not the ordinal, so proxy sets sharing
 * a namespace do not share IPs (the box listens on loopbackFor(pod IP), simulators/proxy/dataplane).
 */
export function podIPOf(namespace: string, name: string): string {
  const h = hash(`${namespace}/${name}`);
  return `10.244.${((h >> 8) % 250) + 1}.${((h & 0xff) % 250) + 2}`;
}

/** Go's log.LstdFlags time, UTC. */
function goLogTime(): string {
  return new Date().toISOString().replace(/-/g, '/').replace('T', ' ').slice(0, 19);
}

function hash(text: string): number {
  return createHash('sha256').update(text).digest().readUInt16BE(0);
}
