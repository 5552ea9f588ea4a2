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
import { Backoff, sleep } from '../../watchers/backoff';
import { Informer } from '../../watchers/informer';
import { PodController } from './pods';
import { currentCapabilityVersion } from './conffile';
import { markOffline, syncReplica, type ProxyTailscale } from './replica';
import { ProxySecrets } from './secrets';

export interface ProxySimulatorOptions {
  kc: KubeConfig;
  /** The Tailscale simulator's admin API (in-process or `HttpSimulatorAdmin`). */
  tailscale: ProxyTailscale;
  /** Only these namespaces; all when unset. */
  namespaces?: string[];
  logger?: Logger;
  resyncIntervalMs?: number;
  /** The proxies' tailcfg.CurrentCapabilityVersion; default that of tailscale.com v1.102.5. */
  capVersion?: number;
}

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
  private stopped = false;

  constructor(private readonly opts: ProxySimulatorOptions) {
    this.pods = new PodController(opts.kc);
    this.secrets = new ProxySecrets(opts.kc);
    this.logger = (opts.logger ?? createLogger({ level: 'warn' })).child({ component: 'proxy-simulator' });
  }

  start(): void {
    const core = this.opts.kc.makeApiClient(CoreV1Api);
    const apps = this.opts.kc.makeApiClient(AppsV1Api);
    const resyncIntervalMs = this.opts.resyncIntervalMs ?? 60_000;
    for (const namespace of this.opts.namespaces ?? [undefined]) {
      const scope = namespace ? `/namespaces/${namespace}` : '';
      this.informers.push(
        new Informer<V1StatefulSet>({
          name: `proxy-sim/statefulsets${scope}`,
          kc: this.opts.kc,
          path: `/apis/apps/v1${scope}/statefulsets`,
          labelSelector: ourLabel,
          list: async ({ limit, continue: cont }) =>
            namespace
              ? await apps.listNamespacedStatefulSet({
                  namespace,
                  labelSelector: ourLabel,
                  limit,
                  _continue: cont,
                })
              : await apps.listStatefulSetForAllNamespaces({
                  labelSelector: ourLabel,
                  limit,
                  _continue: cont,
                }),
          resyncIntervalMs,
          logger: this.logger,
          onUpsert: (sts) => this.enqueue(sts.metadata?.namespace, sts.metadata?.name),
          onDelete: (sts) => this.enqueue(sts.metadata?.namespace, sts.metadata?.name),
        }),
        new Informer<V1Secret>({
          name: `proxy-sim/secrets${scope}`,
          kc: this.opts.kc,
          path: `/api/v1${scope}/secrets`,
          labelSelector: ourLabel,
          list: async ({ limit, continue: cont }) =>
            namespace
              ? await core.listNamespacedSecret({
                  namespace,
                  labelSelector: ourLabel,
                  limit,
                  _continue: cont,
                })
              : await core.listSecretForAllNamespaces({
                  labelSelector: ourLabel,
                  limit,
                  _continue: cont,
                }),
          resyncIntervalMs,
          logger: this.logger,
          keepObjects: false,
          // The StatefulSet is named after the parent (proxyNames.statefulSet).
          onUpsert: (s) =>
            this.enqueue(s.metadata?.namespace, s.metadata?.labels?.[proxyLabelKeys.parentName]),
          onDelete: (s) =>
            this.enqueue(s.metadata?.namespace, s.metadata?.labels?.[proxyLabelKeys.parentName]),
        }),
      );
    }
    for (const informer of this.informers) informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.informers.map((i) => i.stop()));
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
    this.logger.warn('proxy exited on its tailscaled config; it stays down until the config changes', {
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
          error: err instanceof Error ? err.message : String(err),
          retryInMs: delay,
        });
        await sleep(delay);
        entry.dirty = true;
      }
    }
    entry.running = false;
  }

  private async syncStatefulSet(namespace: string, name: string): Promise<void> {
    this.stats.passes++;
    const sts = await this.pods.readStatefulSet(namespace, name);
    if (!sts || sts.metadata?.deletionTimestamp) {
      // No garbage collector either: pods of a deleted StatefulSet are ours to remove.
      const leftovers = await this.opts.kc.makeApiClient(CoreV1Api).listNamespacedPod({
        namespace,
        labelSelector: `${proxyLabelKeys.parentName}=${name}`,
      });
      for (const pod of leftovers.items) await this.pods.deletePod(namespace, pod.metadata!.name!);
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
        capVersion: this.opts.capVersion ?? currentCapabilityVersion,
        restarted: this.crashed.has(replica),
      });
      if (outcome.loggedIn) this.stats.logins++;
      if (outcome.rejectedKey) this.stats.rejectedKeys++;
      if (outcome.ready) ready++;
      this.noteCrash(replica, outcome.crashed);
      const unchanged = existing?.metadata?.uid === pod.uid ? existing : undefined;
      await this.pods.setPodStatus(unchanged, namespace, pod.name, outcome.ready, outcome.crashed);
    }
    await this.pods.setStatefulSetStatus(sts, running, ready);
  }
}

export function startProxySimulator(opts: ProxySimulatorOptions): ProxySimulator {
  const simulator = new ProxySimulator(opts);
  simulator.start();
  return simulator;
}
