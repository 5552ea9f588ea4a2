/**
 * Case 4: Tailscale API storms while objects change: 429 with a long Retry-After, then bursts of
 * 500/502/504, then latency spikes. Every change converges once the storm ends, and the number of
 * requests the operator makes during and after it stays under a bound derived from its retry policy,
 * so no path retries in a hot loop.
 *
 * Guards: Retry-After becoming the activity's next retry delay (toActivityFailure's nextRetryDelay),
 * exponential activity backoff (VIP activities: 2 s doubling), the VIP workflow's own backoff between
 * failed rounds, and idle workflows making no request once converged. Shown to fail with Retry-After
 * ignored (nextRetryDelay unset): a service's retry came 2.0 s after its 429 (2026-12-06).
 */
import { getVipService } from '../../activities/tailscale/vip-services';
import type { RequestCounts } from '../../simulators/tailscale/counters';
import { uniqueName } from '../support/stack';
import { waitParked } from './support/parked';
import { injectFault, requestsTo, vipItemRoute, vipListRoute } from './support/tailscale-faults';
import { scanWorld } from './support/secrets-scan';
import { consumersOf, startFaultWorld, vipServicesNamed, type FaultWorld } from './support/world';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const vipRequests = (c: RequestCounts) =>
  ['GET', 'PUT', 'DELETE'].reduce(
    (n, m) => n + requestsTo(c, m, vipItemRoute) + requestsTo(c, m, vipListRoute),
    0,
  );

/** Waits until every workflow of the world is parked (see waitParked), then resets the counts. */
async function waitQuiet(w: FaultWorld): Promise<void> {
  await waitParked(w.operator.taskQueue);
  await w.tailnet.sim.admin.resetRequestCounts();
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
    await waitQuiet(w);

    // Phase 1: every services call answers 429 "Retry-After: 10". Three services change; each one's
    // calls get a rule of their own, so their spacing can be read off the simulator.
    const retryAfterS = 10;
    const limited = (name: string) =>
      injectFault(sim, {
        kind: 'error',
        status: 429,
        path: `**/vip-services/svc:${name}`,
        retryAfterSeconds: retryAfterS,
      });
    const changed = [await limited(s4), await limited(s5), await limited(s0)];
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
    // The phase ends once each changed service has been answered 429 twice. Its retry comes no sooner
    // than the Retry-After (2 s doubling retries would come 2 s later, then 4 s).
    const gaps: number[] = [];
    for (const fault of changed) {
      await fault.waitFired(2, 60_000);
      const [first, second] = await fault.firedAt();
      gaps.push(second! - first!);
    }
    const phase1 = vipRequests(await sim.requestCounts());
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(retryAfterS * 1000);

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
    // Fixed sleep: the window of a rate bound (calls per 12 s, set by the retry policy); what it counts
    // is how often calls come, which no single event marks.
    await sleep(12_000);
    const phase2 = vipRequests(await sim.requestCounts());

    // Phase 3, 10 s: latency spikes of 2.5 s on half the calls, and some 503s. One more service.
    await sim.clearFaults();
    await sim.resetRequestCounts();
    await sim.addFault({ kind: 'latency', latencyMs: 2500, path: '**/vip-services**', rate: 0.5 });
    await sim.addFault({ kind: 'error', status: 503, path: '**/vip-services**', rate: 0.2 });
    await w.objects.create('TailscaleServices', s6, spec(s6), w.operator.labels);
    // Fixed sleep: a rate bound's window, as in phase 2.
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

    // Converged means quiet: every workflow parks on a timer of a minute or more (idle VIP workflows
    // re-check every 4 h) with nothing in flight, and nothing calls Tailscale once it has.
    await waitQuiet(w);
    await waitParked(w.operator.taskQueue);
    expect((await sim.requestCounts()).routes).toEqual({});
    process.stdout.write(
      `storm: 429 retry spacing ${gaps.map((g) => (g / 1000).toFixed(1)).join('/')} s; ` +
        `vip-services calls per phase 429=${phase1} 5xx=${phase2} latency=${phase3} recovery=${recovery}\n`,
    );
  }, 600_000);

  it('leaks no credential into its logs or workflow histories (case 8)', async () => {
    expect((await scanWorld(w)).leaks).toEqual([]);
  });
});
