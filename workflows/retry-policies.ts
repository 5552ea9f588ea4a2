import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { TailnetReason } from '../api/reasons';

/**
 * The activity retry policies, one per kind of step. They are part of every ScheduleActivityTask
 * command, so a change here changes new histories (replay does not compare them, but keep them stable).
 */
export const retryPolicies = {
  /** Kubernetes reads and writes and single Tailscale calls made on behalf of one object. */
  step: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
  /** A VIP service's attach or detach: slower and longer, and hopeless errors stop at once. */
  vipService: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    maximumAttempts: 12,
    nonRetryableErrorTypes: [
      TailnetReason.TailnetNotFound,
      TailnetReason.InvalidSecret,
      'RegistryUnsupported',
    ],
  },
  /** A tailnet-wide sweep: the next pass comes anyway, so give up sooner. */
  sweep: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 5 },
} satisfies Record<string, RetryPolicy>;

/**
 * Every remote activity's heartbeat timeout. The worker heartbeats for each activity while it runs
 * (workers/heartbeat.ts), so an activity whose worker died is retried after this long instead of after
 * its start-to-close timeout (up to minutes). Local activities have none: they rerun with their task.
 */
const activityHeartbeatTimeout = '15s';

/** The options of a remote activity: its start-to-close timeout, the heartbeat timeout, its retry policy. */
export const remoteActivityOptions = (
  startToCloseTimeout: ActivityOptions['startToCloseTimeout'],
  retry: RetryPolicy = retryPolicies.step,
): ActivityOptions => ({ startToCloseTimeout, heartbeatTimeout: activityHeartbeatTimeout, retry });
