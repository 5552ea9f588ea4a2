/**
 * The proxy simulator: plays every replica of the operator's proxy StatefulSets (kubelet,
 * StatefulSet controller, tailscaled and containerboot) against the Tailscale simulator's admin API.
 * It watches our StatefulSets and their Secrets and, per StatefulSet, one pass at a time: keeps pods
 * `<sts>-<i>` for the desired replicas, logs each replica in with the auth key of its config Secret,
 * records the device in the state Secret, advertises the config's `AdvertiseServices`, and reports
 * readiness in pod and StatefulSet status. Faults on demand: kill or restart a replica, wipe its state.
 */
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Secret,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { managedByValue, proxyLabelKeys } from '../../activities/specs/proxy-group';
import { createLogger, type Logger } from '../../runtime/logger';
import { Backoff, sleep } from '../../runtime/backoff';
import { Informer } from '../../watchers/informer';
import { PodController, podIPOf, type SimulatedPod } from './pods';
import { currentCapabilityVersion } from './conffile';
import { DataPlane } from './dataplane/dataplane';
import { filesDigest, loadProxyConfigs, type ProxyConfigs } from './dataplane/load-configs';
import { ProxyConfigRefused } from './dataplane/refused';
import { markOffline, syncReplica, type ProxyTailscale, type ReplicaOutcome } from './replica';
import { ProxySecrets } from './secrets';
import { reportIngressServices } from './ingress-services';
import { kubeErrorMessage } from '../../activities/kubernetes/errors';

export interface ProxySimulatorOptions {
  kc: KubeConfig;
  /** The Tailscale simulator's admin API (in-process or `HttpSimulatorAdmin`). */
  tailscale: ProxyTailscale;
  /**
   * Only the proxies of parents in these namespaces (their `parent-namespace` label; the proxies
   * themselves run in the operator namespace); all when unset.
   */
  namespaces?: string[];
  logger?: Logger;
  resyncIntervalMs?: number;
  /** The proxies' tailcfg.CurrentCapabilityVersion; default that of tailscale.com v1.102.5. */
  capVersion?: number;
  /**
   * The capability version of particular images (the pod's container image, exactly as written), for
   * playing an older tailscaled; images not listed run `capVersion`.
   */
  imageCapVersions?: Record<string, number>;
  /** How often the data plane (./dataplane) re-reads proxy files and the tailnet; default 500 ms. */
  dataPlanePollMs?: number;
  /**
   * Whose proxies to play: ours by default; `tailscaleOperatorProxies` for the ProxyGroups of
   * Tailscale's own operator (same containerboot conventions, other labels; `namespaces` is ignored).
   */
  proxies?: ProxyObjects;
}

/** How to find the proxy objects: their StatefulSets and Secrets, and the label naming the StatefulSet. */
export interface ProxyObjects {
  labelSelector: string;
  instanceLabel: string;
}

/** The ProxyGroups of Tailscale's own operator (cmd/k8s-operator pgLabels / pgSecretLabels). */
export const tailscaleOperatorProxies: ProxyObjects = {
  labelSelector: 'tailscale.com/managed=true,tailscale.com/parent-resource-type=proxygroup',
  instanceLabel: 'tailscale.com/parent-resource',
};

export interface ProxySimulatorStats {
  passes: number;
  logins: number;
  rejectedKeys: number;
  /** Replica starts that exited on their config file (as containerboot would). */
  crashes: number;
  errors: number;
}

interface KeyState {
  running: boolean;
  dirty: boolean;
  backoff: Backoff;
}

const ourLabel = `${proxyLabelKeys.managedBy}=${managedByValue}`;

/** Our objects, of the parents in `namespaces` when given. */
export function proxySimulatorSelector(namespaces?: string[]): string {
  return namespaces?.length
    ? `${ourLabel},${proxyLabelKeys.parentNamespace} in (${namespaces.join(',')})`
    : ourLabel;
}

export class ProxySimulator {
  readonly stats: ProxySimulatorStats = { passes: 0, logins: 0, rejectedKeys: 0, crashes: 0, errors: 0 };
  private readonly informers: Informer<{ metadata?: { name?: string; namespace?: string } }>[] = [];
  private readonly keys = new Map<string, KeyState>();
  /** Replicas held down by `killReplica(..., { restart: false })`: `<ns>/<sts>/<ordinal>`. */
  private readonly down = new Set<string>();
  /** Replicas whose last start exited, with the line it logged: `<ns>/<sts>/<ordinal>`. */
  private readonly crashed = new Map<string, string>();
  private readonly pods: PodController;
  private readonly secrets: ProxySecrets;
  private readonly logger: Logger;
  /** Carries the bytes: VIP service ports, egress ports (./dataplane). */
  readonly dataPlane: DataPlane;
  private stopped = false;

  constructor(private readonly opts: ProxySimulatorOptions) {
    this.pods = new PodController(opts.kc);
    this.secrets = new ProxySecrets(opts.kc);
    this.logger = (opts.logger ?? createLogger({ level: 'warn' })).child({ component: 'proxy-simulator' });
    this.dataPlane = new DataPlane({
      kc: opts.kc,
      tailnet: opts.tailscale,
      secrets: this.secrets,
      logger: this.logger,
      onFilesChanged: (namespace, statefulSet) => this.enqueue(namespace, statefulSet),
      pollMs: opts.dataPlanePollMs,
    });
  }

  start(): void {
    const core = this.opts.kc.makeApiClient(CoreV1Api);
    const apps = this.opts.kc.makeApiClient(AppsV1Api);
    const resyncIntervalMs = this.opts.resyncIntervalMs ?? 60_000;
    const labelSelector = this.opts.proxies?.labelSelector ?? proxySimulatorSelector(this.opts.namespaces);
    const instanceLabel = this.opts.proxies?.instanceLabel ?? proxyLabelKeys.instance;
    this.informers.push(
      new Informer<V1StatefulSet>({
        name: 'proxy-sim/statefulsets',
        kc: this.opts.kc,
        path: '/apis/apps/v1/statefulsets',
        labelSelector,
        list: async ({ limit, continue: cont }) =>
          await apps.listStatefulSetForAllNamespaces({ labelSelector, limit, _continue: cont }),
        resyncIntervalMs,
        logger: this.logger,
        onUpsert: (sts) => this.enqueue(sts.metadata?.namespace, sts.metadata?.name),
        onDelete: (sts) => this.enqueue(sts.metadata?.namespace, sts.metadata?.name),
      }),
      new Informer<V1Secret>({
        name: 'proxy-sim/secrets',
        kc: this.opts.kc,
        path: '/api/v1/secrets',
        labelSelector,
        list: async ({ limit, continue: cont }) =>
          await core.listSecretForAllNamespaces({ labelSelector, limit, _continue: cont }),
        resyncIntervalMs,
        logger: this.logger,
        keepObjects: false,
        // Every proxy object names its StatefulSet in its instance label (proxyLabels).
        onUpsert: (s) => this.enqueue(s.metadata?.namespace, s.metadata?.labels?.[instanceLabel]),
        onDelete: (s) => this.enqueue(s.metadata?.namespace, s.metadata?.labels?.[instanceLabel]),
      }),
    );
    for (const informer of this.informers) informer.start();
    this.dataPlane.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.informers.map((i) => i.stop()), this.dataPlane.stop()]);
  }

  /** Resolves once no StatefulSet pass is queued or running. */
  async idle(): Promise<void> {
    while ([...this.keys.values()].some((k) => k.running || k.dirty)) await sleep(20);
  }

  /**
   * Kills the replica's pod. With `restart` (default) a new pod (new UID) replaces it, as the
   * StatefulSet controller would, and the proxy comes back with its state; without, it stays down and
   * its device goes offline until `restartReplica`.
   */
  async killReplica(
    namespace: string,
    statefulSet: string,
    ordinal: number,
    opts: { restart?: boolean } = {},
  ) {
    const key = `${namespace}/${statefulSet}/${ordinal}`;
    if (opts.restart === false) this.down.add(key);
    await this.pods.deletePod(namespace, `${statefulSet}-${ordinal}`);
    if (opts.restart === false)
      await markOffline(this.opts.tailscale, await this.secrets.read(namespace, `${statefulSet}-${ordinal}`));
    this.enqueue(namespace, statefulSet);
  }

  restartReplica(namespace: string, statefulSet: string, ordinal: number): void {
    this.down.delete(`${namespace}/${statefulSet}/${ordinal}`);
    this.enqueue(namespace, statefulSet);
  }

  /** Empties the replica's state Secret (a lost state volume) and restarts it: it must log in again. */
  async wipeReplicaState(namespace: string, statefulSet: string, ordinal: number): Promise<void> {
    const name = `${statefulSet}-${ordinal}`;
    const data = await this.secrets.read(namespace, name);
    if (data && Object.keys(data).length) {
      await this.secrets.patch(namespace, name, Object.fromEntries(Object.keys(data).map((k) => [k, null])));
    }
    await this.killReplica(namespace, statefulSet, ordinal);
  }

  /** Logs a replica's crash once per distinct reason; its pod status carries it as kubelet's would. */
  private noteCrash(replica: string, reason: string | undefined): void {
    if (reason === undefined) {
      this.crashed.delete(replica);
      return;
    }
    this.stats.crashes++;
    if (this.crashed.get(replica) === reason) return;
    this.crashed.set(replica, reason);
    this.logger.warn('proxy exited on its config; it stays down until the config changes', {
      replica,
      reason,
    });
  }

  private enqueue(namespace: string | undefined, name: string | undefined): void {
    if (!namespace || !name || this.stopped) return;
    const key = `${namespace}/${name}`;
    const entry = this.keys.get(key) ?? { running: false, dirty: false, backoff: new Backoff(200, 10_000) };
    this.keys.set(key, entry);
    entry.dirty = true;
    if (!entry.running) void this.run(key, namespace, name, entry);
  }

  private async run(key: string, namespace: string, name: string, entry: KeyState): Promise<void> {
    entry.running = true;
    while (entry.dirty && !this.stopped) {
      entry.dirty = false;
      try {
        await this.syncStatefulSet(namespace, name);
        entry.backoff.reset();
      } catch (err) {
        this.stats.errors++;
        const delay = entry.backoff.nextDelayMs();
        this.logger.warn('proxy simulator pass failed; retrying', {
          statefulSet: key,
          error: kubeErrorMessage(err),
          retryInMs: delay,
        });
        await sleep(delay);
        entry.dirty = true;
      }
    }
    entry.running = false;
  }

  private capVersionOf(pod: SimulatedPod): number {
    const image = pod.spec?.containers[0]?.image;
    const ofImage = image === undefined ? undefined : this.opts.imageCapVersions?.[image];
    return ofImage ?? this.opts.capVersion ?? currentCapabilityVersion;
  }

  private async syncStatefulSet(namespace: string, name: string): Promise<void> {
    this.stats.passes++;
    const sts = await this.pods.readStatefulSet(namespace, name);
    if (!sts || sts.metadata?.deletionTimestamp) {
      // No garbage collector either: pods of a deleted StatefulSet are ours to remove.
      const leftovers = await this.opts.kc.makeApiClient(CoreV1Api).listNamespacedPod({
        namespace,
        labelSelector: `${this.opts.proxies?.instanceLabel ?? proxyLabelKeys.instance}=${name}`,
      });
      for (const pod of leftovers.items) await this.pods.deletePod(namespace, pod.metadata!.name!);
      this.dataPlane.retain(namespace, name, new Set());
      return;
    }
    const replicas = sts.spec?.replicas ?? 1;
    const pods = await this.pods.pods(sts);
    for (const podName of [...pods.keys()]) {
      const ordinal = Number(podName.slice(name.length + 1));
      if (ordinal >= replicas || this.down.has(`${namespace}/${name}/${ordinal}`)) {
        await this.pods.deletePod(namespace, podName);
        pods.delete(podName);
      }
    }
    let running = 0;
    let ready = 0;
    const serving = new Set<string>();
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      if (this.down.has(`${namespace}/${name}/${ordinal}`)) continue;
      const existing = pods.get(`${name}-${ordinal}`);
      const pod = await this.pods.ensurePod(sts, ordinal, existing);
      running++;
      const replica = `${namespace}/${name}/${ordinal}`;
      const outcome = await syncReplica(this.secrets, this.opts.tailscale, {
        namespace,
        stateSecret: `${name}-${ordinal}`,
        configSecret: `${name}-${ordinal}-config`,
        pod,
        capVersion: this.capVersionOf(pod),
        restarted: this.crashed.has(replica),
      });
      if (outcome.loggedIn) this.stats.logins++;
      if (outcome.rejectedKey) this.stats.rejectedKeys++;
      if (outcome.ready) {
        serving.add(pod.name);
        const refused = await this.startDataPlane(namespace, name, pod, outcome);
        if (refused !== undefined) Object.assign(outcome, { ready: false, crashed: refused });
      }
      if (outcome.ready) ready++;
      this.noteCrash(replica, outcome.crashed);
      const unchanged = existing?.metadata?.uid === pod.uid ? existing : undefined;
      await this.pods.setPodStatus(unchanged, namespace, pod.name, outcome.ready, outcome.crashed);
    }
    this.dataPlane.retain(namespace, name, serving);
    await this.pods.setStatefulSetStatus(sts, running, ready);
  }

  /**
   * What containerboot does once tailscaled runs: load the serve and egress configs. A refused one
   * ends the process (its device drops off, the reason is returned); the box watches the files either way.
   */
  private async startDataPlane(
    namespace: string,
    statefulSet: string,
    pod: SimulatedPod,
    outcome: ReplicaOutcome,
  ): Promise<string | undefined> {
    const files = await this.dataPlane.files.read(namespace, pod.spec);
    await reportIngressServices(
      this.secrets,
      { namespace, stateSecret: pod.name, podIPv4: podIPOf(namespace, pod.name) },
      files.ingress,
    );
    let configs: ProxyConfigs | undefined;
    let refused: string | undefined;
    try {
      configs = loadProxyConfigs(files, {
        certDomain: outcome.fqdn ?? '',
        tailscaledConfigLocked: outcome.locked ?? true,
      });
    } catch (err) {
      if (!(err instanceof ProxyConfigRefused)) throw err;
      refused = err.message;
      await this.opts.tailscale.setDeviceOnline({ nodeId: outcome.nodeId!, online: false });
    }
    this.dataPlane.setReplica({
      namespace,
      statefulSet,
      pod: pod.name,
      podSpec: pod.spec,
      podIP: podIPOf(namespace, pod.name),
      nodeId: outcome.nodeId!,
      stateSecret: pod.name,
      digest: filesDigest(files),
      configs,
    });
    return refused;
  }
}

export function startProxySimulator(opts: ProxySimulatorOptions): ProxySimulator {
  const simulator = new ProxySimulator(opts);
  simulator.start();
  return simulator;
}
