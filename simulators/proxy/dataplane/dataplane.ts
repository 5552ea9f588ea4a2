/**
 * The box's data plane: the replicas the proxy simulator runs register here with the configs they
 * loaded; every `pollMs` it re-reads their files (a change asks the simulator for a pass, which
 * re-validates them as a restart would) and the tailnet's state, then reconciles ingress and egress.
 */
import type { KubeConfig, V1PodSpec } from '@kubernetes/client-node';
import type { Logger } from '../../../runtime/logger';
import { sleep } from '../../../runtime/backoff';
import type { ProxySecrets } from '../secrets';
import { BackendResolver } from './backends';
import { EgressPlane } from './egress';
import { IngressPlane } from './ingress';
import { filesDigest, type ProxyConfigs } from './load-configs';
import { ProxyFileReader } from './proxy-files';
import { readTailnets, type TailnetSource } from './tailnet-view';

export interface DataPlaneReplica {
  namespace: string;
  statefulSet: string;
  pod: string;
  podSpec: V1PodSpec | undefined;
  podIP: string;
  nodeId: string;
  stateSecret: string;
  /** filesDigest of what it loaded. */
  digest: string;
  /** Undefined while the replica is down on a refused config: files are still watched. */
  configs: ProxyConfigs | undefined;
}

export interface DataPlaneOptions {
  kc: KubeConfig;
  tailnet: TailnetSource;
  secrets: ProxySecrets;
  logger: Logger;
  /** A replica's files changed: run its StatefulSet's pass. */
  onFilesChanged: (namespace: string, statefulSet: string) => void;
  pollMs?: number;
}

export class DataPlane {
  readonly files: ProxyFileReader;
  private readonly replicas = new Map<string, DataPlaneReplica>();
  private readonly ingress: IngressPlane;
  private readonly egress: EgressPlane;
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** Passes run one at a time: the poll loop's and any a test asks for. */
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly opts: DataPlaneOptions) {
    this.files = new ProxyFileReader(opts.kc);
    this.ingress = new IngressPlane(new BackendResolver(opts.kc), opts.logger);
    this.egress = new EgressPlane(opts.secrets, opts.logger);
  }

  setReplica(replica: DataPlaneReplica): void {
    this.replicas.set(`${replica.namespace}/${replica.pod}`, replica);
  }

  /** Forgets the StatefulSet's replicas other than `keep` (pod names). */
  retain(namespace: string, statefulSet: string, keep: Set<string>): void {
    for (const [key, r] of this.replicas) {
      if (r.namespace === namespace && r.statefulSet === statefulSet && !keep.has(r.pod))
        this.replicas.delete(key);
    }
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.ingress.close();
    await this.egress.close();
  }

  /** One pass now, after any running one (tests call it to not wait for the next tick). */
  sync(): Promise<void> {
    const pass = this.last.then(() => this.pass());
    this.last = pass.catch(() => undefined);
    return pass;
  }

  private async pass(): Promise<void> {
    for (const replica of [...this.replicas.values()]) {
      const files = await this.files.read(replica.namespace, replica.podSpec);
      if (filesDigest(files) !== replica.digest)
        this.opts.onFilesChanged(replica.namespace, replica.statefulSet);
    }
    // Proxies without serve or egress files (no env for them) cost the tailnet nothing.
    const views = [...this.replicas.values()].some((r) => r.digest !== filesDigest({}))
      ? await readTailnets(this.opts.tailnet)
      : [];
    const serving = [...this.replicas.entries()]
      .filter(([, r]) => r.configs)
      .map(([key, r]) => ({ key, ...r, serve: r.configs!.serve, egress: r.configs!.egress }));
    await this.ingress.reconcile(serving, views);
    await this.egress.reconcile(serving, views);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.sync();
      } catch (err) {
        this.opts.logger.warn('data plane pass failed; retrying', {
          error: err instanceof Error ? err.message : String(err),
        });
      }
      await sleep(this.opts.pollMs ?? 500);
    }
  }
}
