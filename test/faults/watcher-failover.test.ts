/**
 * Highly available watchers: two watcher processes compete for one Lease; only the leader runs
 * informers. The leader is SIGKILLed in the middle of a churn of TailscaleServices (creations, an
 * update and a deletion, some made while no process leads); the standby takes the Lease once it has
 * lapsed, lists everything and signals it, and every change reaches its end state.
 *
 * Guards: the Lease protocol (runtime/leader-election.ts), the standby never signalling while it does
 * not lead, and level-triggered informers that repair what no one watched during the hand-over.
 */
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { getVipService } from '../../activities/tailscale/vip-services';
import { eventually } from '../support/eventually';
import type { ManagedProcess } from '../../tools/stack/process';
import { uniqueName } from '../support/stack';
import { startFaultWorld, vipServicesNamed, type FaultWorld } from './support/world';

const leaseNamespace = 'default';
const leaseDurationSeconds = 4;

describe('watchers leader election: the standby takes over a killed leader mid-churn and loses no change', () => {
  let w: FaultWorld;
  let standby: ManagedProcess;
  const leaseName = uniqueName('watchers-lease');
  const election = {
    LEADER_ELECTION_NAMESPACE: leaseNamespace,
    LEADER_ELECTION_LEASE_NAME: leaseName,
    LEADER_ELECTION_LEASE_DURATION_SECONDS: String(leaseDurationSeconds),
    LEADER_ELECTION_RENEW_DEADLINE_SECONDS: '3',
    LEADER_ELECTION_RETRY_PERIOD_SECONDS: '1',
  };

  beforeAll(async () => {
    w = await startFaultWorld({
      prefix: 'ha',
      operator: { watchersEnv: { ...election, POD_NAME: 'watchers-a' } },
    });
  });
  afterAll(async () => {
    await w?.close();
  });

  const readLease = () =>
    w.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: leaseName, namespace: leaseNamespace });
  const holderOf = (lease: V1Lease) => lease.spec?.holderIdentity ?? '';

  const service = (name: string, ports = ['tcp:443']) =>
    w.objects.create(
      'TailscaleServices',
      name,
      {
        tailnet: w.tailnet.name,
        selector: { matchLabels: { pool: 'ha' } },
        vipService: { ports, tags: ['tag:web'] },
      },
      w.operator.labels,
    );

  it('hands over the lease and converges every change made before, during and after the hand-over', async () => {
    const names = Array.from({ length: 8 }, (_, i) => uniqueName(`ha${i}`));
    const [first, second, third, fourth, ...later] = names as [string, string, string, string, ...string[]];
    await w.objects.createManualEndpoints('ha-pool', w.tailnet.name, { pool: 'ha' }, 2);

    // watchers-a leads before the standby starts, so which process to kill is known.
    const leader = await eventually('watchers-a leads', async () => {
      const lease = await readLease().catch(() => undefined);
      return lease && holderOf(lease).startsWith('watchers-a_') ? lease : undefined;
    });
    standby = w.operator.spawnWatchers({ ...election, POD_NAME: 'watchers-b' });
    await eventually('watchers-b is a candidate', () =>
      Promise.resolve(
        readFileSync(standby.logFile, 'utf8').includes('waiting to become leader') ? true : undefined,
      ),
    );

    for (const name of [first, second, third, fourth]) await service(name);
    for (const name of [first, second, third, fourth]) await w.objects.waitReady('TailscaleServices', name);
    // Positive control for "the standby does not signal": the leader did, the standby never started.
    expect(readFileSync(w.operator.watchers.logFile, 'utf8')).toContain('watchers started');
    expect(readFileSync(standby.logFile, 'utf8')).not.toContain('watchers started');

    // Kill the leader, then change things while no process leads.
    await w.operator.killWatchers();
    const killedAt = Date.now();
    await w.objects.patch('TailscaleServices', first, [
      { op: 'replace', path: '/spec/vipService/ports', value: ['tcp:8443'] },
    ]);
    await w.objects.delete('TailscaleServices', second);
    for (const name of later.slice(0, 2)) await service(name);

    const takeover = await eventually(
      'watchers-b takes the lease',
      async () => {
        const lease = await readLease();
        return holderOf(lease).startsWith('watchers-b_') ? lease : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(takeover.spec?.leaseTransitions).toBe((leader.spec?.leaseTransitions ?? 0) + 1);
    // The figure for the note: kill → the standby's acquireTime (lease duration plus one retry period).
    const acquiredAt = new Date(String(takeover.spec?.acquireTime)).getTime();
    process.stdout.write(`watcher failover: lease taken ${acquiredAt - killedAt} ms after the kill\n`);

    // Changes after the hand-over.
    for (const name of later.slice(2)) await service(name);

    // The end state covers every change.
    for (const name of [first, third, fourth, ...later]) await w.objects.waitReady('TailscaleServices', name);
    await w.objects.waitGone('TailscaleServices', second);
    await eventually('svc first updated, svc second deleted', async () => {
      const updated = await getVipService(w.tailnet.api, `svc:${first}`);
      const deleted = await getVipService(w.tailnet.api, `svc:${second}`);
      return updated?.ports?.join() === 'tcp:8443' && deleted === null ? true : undefined;
    });
    const live = (await vipServicesNamed(w, 'svc:ha')).map((s) => s.name).sort();
    expect(live).toEqual([first, third, fourth, ...later].map((n) => `svc:${n}`).sort());
    expect(readFileSync(standby.logFile, 'utf8')).toContain('leader election: became leader');
  });

  it('a leader that stops cleanly releases the lease, and the next standby takes it', async () => {
    expect(holderOf(await readLease())).toMatch(/^watchers-b_/);
    const next = w.operator.spawnWatchers({ ...election, POD_NAME: 'watchers-c' });
    await eventually('watchers-c is a candidate', () =>
      Promise.resolve(
        readFileSync(next.logFile, 'utf8').includes('waiting to become leader') ? true : undefined,
      ),
    );
    const stoppedAt = Date.now();
    await standby.stop();
    expect(readFileSync(standby.logFile, 'utf8')).toContain('leader election: released the lease');
    const lease = await eventually('watchers-c takes the lease', async () => {
      const current = await readLease();
      return holderOf(current).startsWith('watchers-c_') ? current : undefined;
    });
    const acquiredAt = new Date(String(lease.spec?.acquireTime)).getTime();
    process.stdout.write(
      `watcher hand-over on a clean stop: lease taken ${acquiredAt - stoppedAt} ms after SIGTERM\n`,
    );

    // The new leader signals: a change made now converges.
    const name = uniqueName('ha-after');
    await service(name);
    await w.objects.waitReady('TailscaleServices', name);
  });
});
