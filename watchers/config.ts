import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigError, optionalEnv, secondsEnv } from '../runtime/config';

type Env = Record<string, string | undefined>;

/** Lease-based leader election among watcher replicas; undefined runs this process alone. */
export interface LeaderElectionConfig {
  /**
   * Namespace of the Lease the watcher replicas compete for; unset: no election, this process runs
   * alone (the local stack). The chart sets it to the release namespace.
   */
  namespace: string;
  /** Name of that Lease. */
  leaseName: string;
  /** This candidate: the pod name (the chart sets POD_NAME) plus a random suffix per process start. */
  identity: string;
  /** A holder that has not renewed for this long is replaced. */
  leaseDurationMs: number;
  /** A leader that could not renew for this long gives up and exits (the pod restarts as a candidate). */
  renewDeadlineMs: number;
  /** Time between two attempts to take or renew the Lease. */
  retryPeriodMs: number;
}

export function loadLeaderElectionConfig(env: Env = process.env): LeaderElectionConfig | undefined {
  const namespace = optionalEnv(env, 'LEADER_ELECTION_NAMESPACE');
  if (!namespace) return undefined;
  const config: LeaderElectionConfig = {
    namespace,
    leaseName: optionalEnv(env, 'LEADER_ELECTION_LEASE_NAME') ?? 'tailscale-gateway-operator-watchers',
    identity: `${optionalEnv(env, 'POD_NAME') ?? hostname()}_${randomBytes(4).toString('hex')}`,
    leaseDurationMs: secondsEnv(env, 'LEADER_ELECTION_LEASE_DURATION_SECONDS', 15) * 1000,
    renewDeadlineMs: secondsEnv(env, 'LEADER_ELECTION_RENEW_DEADLINE_SECONDS', 10) * 1000,
    retryPeriodMs: secondsEnv(env, 'LEADER_ELECTION_RETRY_PERIOD_SECONDS', 2) * 1000,
  };
  // client-go's own checks: a leader must be able to retry before its deadline, and give up before
  // its lease can be taken over.
  if (config.renewDeadlineMs >= config.leaseDurationMs) {
    throw new ConfigError(
      'LEADER_ELECTION_RENEW_DEADLINE_SECONDS must be less than LEADER_ELECTION_LEASE_DURATION_SECONDS',
    );
  }
  if (config.retryPeriodMs * 1.2 >= config.renewDeadlineMs) {
    throw new ConfigError(
      'LEADER_ELECTION_RETRY_PERIOD_SECONDS × 1.2 must be less than LEADER_ELECTION_RENEW_DEADLINE_SECONDS',
    );
  }
  return config;
}
