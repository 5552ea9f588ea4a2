/**
 * Case 4: Tailscale API storms while objects change: 429 with a long Retry-After, then bursts of
 * 500/502/504, then latency spikes. Every change converges once the storm ends, and the number of
 * requests the operator makes during and after it stays under a bound derived from its retry policy,
 * so no path retries in a hot loop.
 *
 * Guards: Retry-After becoming the activity's next retry delay (toActivityFailure's nextRetryDelay),
 * exponential activity backoff (VIP activities: 2 s doubling), the VIP workflow's own backoff between
 * failed rounds, and idle workflows making no request once converged. Shown to fail (locally, once)
 * with Retry-After ignored (nextRetryDelay unset): the 429 phase bound is exceeded.
 */
import { getVipService } from '../../activities/tailscale/vip-services';
import type { TailscaleSimulatorAdmin } from '../../simulators/tailscale/admin';
import type { RequestCounts } from '../../simulators/tailscale/counters';
import { eventually } from '../support/eventually';
import { uniqueName } from '../support/stack';
import { requestsTo, vipItemRoute, vipListRoute } from './support/tailscale-faults';
import { scanWorld } from './support/secrets-scan';
import { consumersOf, startFaultWorld, vipServicesNamed, type FaultWorld } from './support/world';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const vipRequests = (c: RequestCounts) =>
  ['GET', 'PUT', 'DELETE'].reduce(
    (n, m) => n + requestsTo(c, m, vipItemRoute) + requestsTo(c, m, vipListRoute),
    0,
  );

/** Waits until no call reached the simulator for 3 s (a just-created object's follow-up passes), then resets. */
async function waitQuiet(sim: TailscaleSimulatorAdmin): Promise<void> {
  await eventually(
    'no Tailscale call for 3 s',
    async () => {
      await sim.resetRequestCounts();
      await sleep(3000);
      return (await sim.requestCounts()).total === 0 ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

describe('Tailscale API storms: 429 with Retry-After, 5xx bursts, latency spikes', () => {
  let w: FaultWorld;

  beforeAll(async () => {
    w = await startFaultWorld({ prefix: 'storm' });
  });
  afterAll(async () => {
    await w?.close();
  });

  const spec = (app: string, ports = ['tcp:443']) => ({
    tailnet: w.tailnet.name,
    selector: { matchLabels: { app } },
    vipService: { ports, tags: ['tag:web'] },
  });

  it('converges after the storm with a bounded number of requests, then goes quiet', async () => {
    const sim = w.tailnet.sim.admin;
    const names = Array.from({ length: 7 }, () => uniqueName('s'));
    const [s0, s1, s2, s3, s4, s5, s6] = names as [string, string, string, string, string, string, string];
    for (const name of names)
      await w.objects.createManualEndpoints(`${name}-proxies`, w.tailnet.name, { app: name });
    for (const name of [s0, s1, s2, s3]) {
      await w.objects.create('TailscaleServices', name, spec(name), w.operator.labels);
    }
    for (const name of [s0, s1, s2, s3]) await w.objects.waitReady('TailscaleServices', name);
    await waitQuiet(sim);

    // Phase 1, 12 s: every services call answers 429 "Retry-After: 10". Three services change.
    const retryAfterS = 10;
    await sim.addFault({
      kind: 'error',
      status: 429,
      path: '**/vip-services**',
      retryAfterSeconds: retryAfterS,
    });
    await w.objects.create('TailscaleServices', s4, spec(s4), w.operator.labels);
    await w.objects.create('TailscaleServices', s5, spec(s5), w.operator.labels);
    await w.objects.patch('TailscaleServices', s0, [
      { op: 'replace', path: '/spec/vipService/ports', value: ['tcp:443', 'tcp:8443'] },
    ]);
    await sleep(12_000);
    const phase1 = vipRequests(await sim.requestCounts());
    // Each changed service: its first attempt, and at most one retry Retry-After later (2 s doubling
    // retries would be 3 or more attempts in 12 s). One round is a GET that fails.
    expect(phase1).toBeGreaterThanOrEqual(3);
    expect(phase1).toBeLessThanOrEqual(3 * 2);

    // Phase 2, 12 s: 500, 502 and 504 on about 70% of calls. One service goes, one changes.
    await sim.clearFaults();
    await sim.resetRequestCounts();
    for (const status of [500, 502, 504]) {
      await sim.addFault({ kind: 'error', status, path: '**/vip-services**', rate: 0.35 });
    }
    await w.objects.delete('TailscaleServices', s1);
    await w.objects.patch('TailscaleServices', s2, [
      { op: 'replace', path: '/spec/vipService/tags', value: ['tag:web', 'tag:api'] },
    ]);
    await sleep(12_000);
    const phase2 = vipRequests(await sim.requestCounts());

    // Phase 3, 10 s: latency spikes of 2.5 s on half the calls, and some 503s. One more service.
    await sim.clearFaults();
    await sim.resetRequestCounts();
    await sim.addFault({ kind: 'latency', latencyMs: 2500, path: '**/vip-services**', rate: 0.5 });
    await sim.addFault({ kind: 'error', status: 503, path: '**/vip-services**', rate: 0.2 });
    await w.objects.create('TailscaleServices', s6, spec(s6), w.operator.labels);
    await sleep(10_000);
    const phase3 = vipRequests(await sim.requestCounts());

    // The storm ends.
    await sim.clearFaults();
    await sim.resetRequestCounts();
    const live = [s0, s2, s3, s4, s5, s6];
    for (const name of live) await w.objects.waitReady('TailscaleServices', name, 240_000);
    await w.objects.waitGone('TailscaleServices', s1, 240_000);
    const recovery = vipRequests(await sim.requestCounts());

    const services = await vipServicesNamed(w, 'svc:');
    expect(services.map((s) => s.name).sort()).toEqual(live.map((n) => `svc:${n}`).sort());
    for (const name of live) {
      expect(consumersOf(services.find((s) => s.name === `svc:${name}`))).toEqual({
        [w.consumerKey]: [`services/${w.namespace}/${name}`],
      });
    }
    expect((await getVipService(w.tailnet.api, `svc:${s0}`))?.ports).toEqual(['tcp:443', 'tcp:8443']);
    expect((await getVipService(w.tailnet.api, `svc:${s2}`))?.tags).toEqual(['tag:web', 'tag:api']);

    // Bounds. An attach/detach round is at most 3 calls (GET, PUT or DELETE, GET to verify); the
    // activity retries after 2, 4, 8 s..., so in 12 s a changed service makes at most 4 rounds. The
    // services changed in phase 1 may still be retrying in phase 2 (5 services in all).
    expect(phase2).toBeLessThanOrEqual(5 * 4 * 3);
    // Phase 3: the 4 services still converging and the new one, rounds slowed by latency.
    expect(phase3).toBeLessThanOrEqual(5 * 4 * 3);
    // After the storm: the remaining rounds, at most one per service that had not converged.
    expect(recovery).toBeLessThanOrEqual(6 * 3 * 2);

    // Converged means quiet: no call at all for a while (idle VIP workflows re-check every 4 h).
    await waitQuiet(sim);
    await sleep(8000);
    expect((await sim.requestCounts()).routes).toEqual({});
    process.stdout.write(
      `storm: vip-services calls per phase 429=${phase1} 5xx=${phase2} latency=${phase3} recovery=${recovery}\n`,
    );
  }, 600_000);

  it('leaks no credential into its logs or workflow histories (case 8)', async () => {
    expect((await scanWorld(w)).leaks).toEqual([]);
  });
});
