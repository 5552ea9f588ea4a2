/**
 * Candidates that start together race to create the Lease. Exactly one wins; the others lose the
 * create with 409 AlreadyExists, which is the normal outcome of the race and must not be logged as a
 * failed request (the same as a lost replace).
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import { startLeaderElection, type LeaderElector } from '../../../runtime/leader-election';
import type { LogFields, Logger } from '../../../runtime/logger';
import { eventually } from '../../support/eventually';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';

function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (msg: string, fields?: LogFields) =>
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  return logger;
}

describe('leader election', () => {
  const electors: LeaderElector[] = [];
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
  });

  it('lets one of several simultaneous candidates create the Lease, quietly', async () => {
    const kc = testKubeConfig();
    const namespace = await createTestNamespace(kc, 'leader');
    const leaseName = uniqueName('lease');
    const lines: string[] = [];
    for (let i = 0; i < 4; i++) {
      electors.push(
        startLeaderElection({
          kc,
          namespace,
          leaseName,
          identity: `candidate-${i}`,
          logger: recordingLogger(lines),
          leaseDurationMs: 4_000,
          renewDeadlineMs: 3_000,
          retryPeriodMs: 500,
        }),
      );
    }
    await Promise.race(electors.map((e) => e.acquired));
    // Every candidate finishes its first attempt and a few retries. A standby's failed attempt changes
    // nothing anyone can watch, but the leader renews on the same period, and each renewal is a write
    // to the Lease: four of them span the standbys' first attempts and several retries.
    const leases = kc.makeApiClient(CoordinationV1Api);
    const renewals = new Set<string>();
    await eventually(
      'four renewals of the Lease',
      async () => {
        const lease = await leases.readNamespacedLease({ namespace, name: leaseName });
        renewals.add(lease.metadata?.resourceVersion ?? '');
        return renewals.size >= 4 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect(electors.filter((e) => e.isLeader())).toHaveLength(1);
    expect(lines.filter((line) => !line.startsWith('debug') && !line.startsWith('info'))).toEqual([]);

    const leader = electors.find((e) => e.isLeader())!;
    await leader.stop();
    await eventually(
      'a standby to take the released Lease',
      () => (electors.filter((e) => e.isLeader()).length === 1 ? true : undefined),
      { timeoutMs: 10_000 },
    );
  });
});
