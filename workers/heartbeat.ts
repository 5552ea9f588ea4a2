/**
 * Every activity with a heartbeat timeout heartbeats while it runs, so a worker that dies mid-activity
 * (a crash, an eviction, SIGKILL) is noticed by Temporal within that timeout and the activity is retried
 * on a live worker, instead of after its start-to-close timeout (minutes for the proxy activities).
 * Activity code itself never needs to heartbeat. Local activities cannot heartbeat, nor need to: a dead
 * worker's workflow task times out and the local activity runs again.
 */
import type { Context } from '@temporalio/activity';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
} from '@temporalio/worker';

/** Heartbeats this many times per heartbeat timeout: one late beat still leaves margin. */
const beatsPerTimeout = 3;

class HeartbeatWhileRunning implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    const { heartbeatTimeoutMs, isLocal } = this.ctx.info;
    if (isLocal || !heartbeatTimeoutMs) return next(input);
    const beat = setInterval(() => this.ctx.heartbeat(), heartbeatTimeoutMs / beatsPerTimeout);
    try {
      return await next(input);
    } finally {
      clearInterval(beat);
    }
  }
}

export const heartbeatInterceptors: ActivityInterceptorsFactory = (ctx) => ({
  inbound: new HeartbeatWhileRunning(ctx),
});
