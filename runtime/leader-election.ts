import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { kubeErrorMessage, kubeStatusCode } from '../activities/kubernetes/errors';
import { microTime } from './kube';
import type { Logger } from './logger';

/**
 * Lease-based leader election with client-go's semantics (k8s.io/client-go/tools/leaderelection):
 * a candidate takes the Lease when its holder has not renewed it for `leaseDurationMs`, measured on the
 * candidate's own clock from when it last saw the record change (so clock skew between pods does not
 * matter); the leader renews every `retryPeriodMs` and gives up leadership when it could not renew for
 * `renewDeadlineMs`; a leader that stops cleanly releases the Lease so its standby takes over at once.
 */
export interface LeaderElectionOptions {
  kc: KubeConfig;
  namespace: string;
  leaseName: string;
  /** Unique per process: the pod name, plus a random suffix so a restarted pod is a new candidate. */
  identity: string;
  logger: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LeaderElector {
  /** Resolves once this process holds the Lease (never, while another live process holds it). */
  acquired: Promise<void>;
  /** Resolves if leadership is lost after it was acquired (renewals failed past the deadline). */
  lost: Promise<void>;
  isLeader(): boolean;
  /** Stops campaigning; a leader releases the Lease. */
  stop(): Promise<void>;
}

interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

export const leaderElectionDefaults = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};
const jitterFactor = 1.2;

export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const { namespace, leaseName, identity, logger } = options;
  const leaseDurationMs = options.leaseDurationMs ?? leaderElectionDefaults.leaseDurationMs;
  const renewDeadlineMs = options.renewDeadlineMs ?? leaderElectionDefaults.renewDeadlineMs;
  const retryPeriodMs = options.retryPeriodMs ?? leaderElectionDefaults.retryPeriodMs;
  const api = options.kc.makeApiClient(CoordinationV1Api);

  let observed: { record: string; at: number } | undefined;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let onAcquired!: () => void;
  let onLost!: () => void;
  const acquired = new Promise<void>((resolve) => (onAcquired = resolve));
  const lost = new Promise<void>((resolve) => (onLost = resolve));
  let lastRenewAt = 0;

  const lease = (record: LeaseRecord, resourceVersion?: string): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: leaseName, namespace, resourceVersion },
    // MicroTime must carry exactly six fractional digits; client-node would send a Date with three.
    spec: record as unknown as V1Lease['spec'],
  });

  /** One attempt: true when this process holds the Lease afterwards. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = microTime(new Date());
    let current: V1Lease;
    try {
      current = await api.readNamespacedLease({ name: leaseName, namespace });
    } catch (err) {
      if (kubeStatusCode(err) !== 404) throw err;
      const record: LeaseRecord = {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      };
      try {
        await api.createNamespacedLease({ namespace, body: lease(record) });
      } catch (createErr) {
        if (kubeStatusCode(createErr) === 409) return false; // another candidate created it first
        throw createErr;
      }
      observed = { record: JSON.stringify(record), at: Date.now() };
      return true;
    }
    const spec = (current.spec ?? {}) as Partial<LeaseRecord>;
    const seen = JSON.stringify(spec);
    if (!observed || observed.record !== seen) observed = { record: seen, at: Date.now() };
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (heldByOther && observed.at + durationMs > Date.now()) return false;

    const record: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: holder === identity ? spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
    };
    try {
      const written = await api.replaceNamespacedLease({
        name: leaseName,
        namespace,
        body: lease(record, current.metadata?.resourceVersion),
      });
      observed = { record: JSON.stringify(written.spec ?? record), at: Date.now() };
      return true;
    } catch (err) {
      if (kubeStatusCode(err) === 409) return false; // another candidate wrote first
      throw err;
    }
  }

  async function attempt(): Promise<boolean> {
    try {
      return await tryAcquireOrRenew();
    } catch (err) {
      logger.warn('leader election: lease request failed', {
        lease: leaseName,
        error: kubeErrorMessage(err),
      });
      return false;
    }
  }

  function schedule(fn: () => Promise<void>, ms: number) {
    if (stopped) return;
    timer = setTimeout(() => void fn(), ms);
  }

  async function campaign(): Promise<void> {
    if (await attempt()) {
      if (stopped) return;
      leader = true;
      lastRenewAt = Date.now();
      logger.info('leader election: became leader', { lease: leaseName, identity });
      onAcquired();
      schedule(renew, retryPeriodMs);
      return;
    }
    schedule(campaign, retryPeriodMs * (1 + Math.random() * (jitterFactor - 1)));
  }

  async function renew(): Promise<void> {
    if (await attempt()) {
      lastRenewAt = Date.now();
    } else if (Date.now() - lastRenewAt > renewDeadlineMs) {
      leader = false;
      stopped = true;
      logger.error('leader election: lost the lease', { lease: leaseName, identity });
      onLost();
      return;
    }
    schedule(renew, retryPeriodMs);
  }

  void campaign();

  return {
    acquired,
    lost,
    isLeader: () => leader,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (!leader) return;
      leader = false;
      try {
        const current = await api.readNamespacedLease({ name: leaseName, namespace });
        if ((current.spec?.holderIdentity ?? '') !== identity) return;
        const now = microTime(new Date());
        const released: LeaseRecord = {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: current.spec?.leaseTransitions ?? 0,
        };
        await api.replaceNamespacedLease({
          name: leaseName,
          namespace,
          body: lease(released, current.metadata?.resourceVersion),
        });
        logger.info('leader election: released the lease', { lease: leaseName, identity });
      } catch (err) {
        logger.warn('leader election: release failed; the standby takes over when the lease expires', {
          lease: leaseName,
          error: kubeErrorMessage(err),
        });
      }
    },
  };
}
