/**
 * Case 4, on the other endpoints the operator depends on: storms on the OAuth token exchange and on
 * auth keys while proxies are created and scaled. First every token request answers 429 with a
 * Retry-After (the access token having just been revoked); then key calls fail, and some key creations
 * take effect although their answer is lost (a 502 or a dropped connection after Tailscale stored the
 * key). Once the storm ends every replica has exactly one device and one spent key, no key is left
 * usable, the requests stay under a bound set by the retry policy, and nothing more is minted.
 *
 * Guards: the worker's client waiting out a token exchange's Retry-After for all its callers (shown to
 * fail without it: two exchanges 0.4 s apart in the 429 phase, where the Retry-After is 6 s), and the
 * revocation of a replica's usable keys before it mints one (shown to fail without it: the keys whose
 * answers were lost stay usable).
 */
import { listDevices } from '../../activities/tailscale/devices';
import { listKeys, type AuthKeyInfo } from '../../activities/tailscale/keys';
import type { RequestCounts } from '../../simulators/tailscale/counters';
import { startProxySimulator, type ProxySimulator } from '../../simulators/proxy/simulator';
import { uniqueName } from '../support/stack';
import { waitParked } from './support/parked';
import { scanWorld } from './support/secrets-scan';
import { injectFault, requestsTo } from './support/tailscale-faults';
import { startFaultWorld, type FaultWorld } from './support/world';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tokenRoute = /^\/api\/v2\/oauth\/token$/;
const keysRoute = /\/keys$/;
const keyRoute = /\/keys\/\{keyId\}$/;
const tokenRequests = (c: RequestCounts) => requestsTo(c, 'POST', tokenRoute);
const keyCreations = (c: RequestCounts) => requestsTo(c, 'POST', keysRoute);
const keyCalls = (c: RequestCounts) =>
  keyCreations(c) + requestsTo(c, 'GET', keysRoute) + requestsTo(c, 'DELETE', keyRoute);

/** `web-0 in ns 1a2b3c4d` → `web-0`. */
const replicaOf = (key: AuthKeyInfo) => key.description.split(' ')[0] ?? '';

describe('Tailscale API storms on the OAuth token exchange and on auth keys', () => {
  let w: FaultWorld;
  let proxies: ProxySimulator;

  beforeAll(async () => {
    w = await startFaultWorld({ prefix: 'keystorm' });
    proxies = startProxySimulator({ kc: w.kc, tailscale: w.tailnet.sim.admin, namespaces: [w.namespace] });
  });
  afterAll(async () => {
    await proxies?.stop();
    await w?.close();
  });

  const proxied = (replicas: number) => ({
    tailnet: w.tailnet.name,
    tags: ['tag:k8s'],
    proxy: { replicas },
  });

  it('converges with one device and one spent key per replica, within bounded retries, then mints nothing', async () => {
    const sim = w.tailnet.sim.admin;
    const [e0, e1, e2] = [uniqueName('a'), uniqueName('b'), uniqueName('c')] as [string, string, string];
    await w.objects.create('TailscaleEndpoints', e0, proxied(1), w.operator.labels);
    await w.objects.waitReady('TailscaleEndpoints', e0);

    // Phase 1: the access token is revoked and every exchange answers 429 "Retry-After: 6". One more
    // endpoints object, and the first scaled to two replicas: both need a key, so a token.
    const retryAfterS = 6;
    const limited = await injectFault(sim, {
      kind: 'error',
      status: 429,
      retryAfterSeconds: retryAfterS,
      path: '/api/v2/oauth/token',
    });
    await sim.expireTokens();
    await sim.resetRequestCounts();
    await w.objects.create('TailscaleEndpoints', e1, proxied(2), w.operator.labels);
    await w.objects.patch('TailscaleEndpoints', e0, [
      { op: 'replace', path: '/spec/proxy/replicas', value: 2 },
    ]);
    // The phase ends at the second exchange. The worker's client waits out each Retry-After for all
    // its callers, so it comes no sooner than 6 s after the first (callers on their own would each
    // exchange at once).
    await limited.waitFired(2, 60_000);
    const [first, second] = await limited.firedAt();
    const phase1 = await sim.requestCounts();
    expect(second! - first!).toBeGreaterThanOrEqual(retryAfterS * 1000);
    // No key was minted: minting starts by listing the replica's keys, which needs a token.
    expect(keyCreations(phase1)).toBe(0);

    // Phase 2, 12 s: key calls fail. The first three creations are stored by Tailscale, but the caller
    // sees a 502 (twice) or a dropped connection; other key calls get 500s and 429s. One more object.
    await sim.clearFaults();
    await sim.resetRequestCounts();
    const lost502 = await injectFault(sim, {
      kind: 'lost-response',
      status: 502,
      method: 'POST',
      path: '**/keys',
      count: 2,
    });
    const lostReset = await injectFault(sim, {
      kind: 'lost-response',
      method: 'POST',
      path: '**/keys',
      count: 1,
    });
    await sim.addFault({ kind: 'error', status: 500, path: '**/keys**', rate: 0.3 });
    await sim.addFault({ kind: 'error', status: 429, retryAfterSeconds: 2, path: '**/keys**', rate: 0.2 });
    await w.objects.create('TailscaleEndpoints', e2, proxied(1), w.operator.labels);
    // Fixed sleep: the window of a rate bound (key calls per 12 s, set by the retry policy); what it
    // counts is how often calls come, which no single event marks.
    await sleep(12_000);
    const phase2 = await sim.requestCounts();
    // The storm goes on until the third creation lost its answer (the token exchange may still have
    // been waiting out phase 1's Retry-After for the first seconds); requests meanwhile go uncounted.
    await lostReset.waitFired(1, 60_000);
    expect(await lost502.fired()).toBe(2);
    expect(await lostReset.fired()).toBe(1);

    // The storm ends.
    await sim.clearFaults();
    await sim.resetRequestCounts();
    for (const name of [e0, e1, e2]) await w.objects.waitReady('TailscaleEndpoints', name, 240_000);
    const recovery = await sim.requestCounts();

    const replicas = [`${e0}-0`, `${e0}-1`, `${e1}-0`, `${e1}-1`, `${e2}-0`];
    const devices = (await listDevices(w.tailnet.api)).filter((d) => replicas.includes(d.hostname));
    expect(devices.map((d) => d.hostname).sort()).toEqual([...replicas].sort());

    const keys = (await listKeys(w.tailnet.api, { all: true })).filter((k) =>
      replicas.includes(replicaOf(k)),
    );
    // Nothing left that could log another device in.
    expect(keys.filter((k) => !k.invalid).map(replicaOf)).toEqual([]);
    // Each replica logged in with one key; every other key minted for it was revoked unused.
    const spent = keys.filter((k) => k.invalid && k.revoked === undefined);
    expect(spent.map(replicaOf).sort()).toEqual([...replicas].sort());
    const revoked = keys.filter((k) => k.revoked !== undefined);
    // At least the three whose answers were lost.
    expect(revoked.length).toBeGreaterThanOrEqual(3);

    // Bounds. Four replicas needed a key in phase 2 (one of the first object, two of the second, one
    // of the third). An attempt of an object's key activity costs each of its replicas that still needs
    // one at most a list, a revocation per earlier key and a creation; attempts come 1, 2, 4, 8 s apart
    // (longer after a 429), so at most 5 per object in 12 s.
    expect(keyCreations(phase2)).toBeLessThanOrEqual(4 * 5);
    expect(keyCalls(phase2)).toBeLessThanOrEqual(4 * 5 * 3 + 3);
    // After the storm: the replicas still without a key mint once each.
    expect(keyCreations(recovery)).toBeLessThanOrEqual(4);
    expect(keyCalls(recovery)).toBeLessThanOrEqual(4 * 3 + 3);

    // Converged: no key call and no token exchange any more (the refreshed token lives an hour), up
    // to the point where every workflow is parked on a timer of a minute or more with nothing in flight.
    await sim.resetRequestCounts();
    await waitParked(w.operator.taskQueue, { timeoutMs: 240_000 });
    const idle = await sim.requestCounts();
    expect(keyCalls(idle)).toBe(0);
    expect(tokenRequests(idle)).toBe(0);
    process.stdout.write(
      `key storm: token exchanges in the 429 phase=${tokenRequests(phase1)} ` +
        `(${((second! - first!) / 1000).toFixed(1)} s apart); key calls in the error phase=` +
        `${keyCalls(phase2)} (creations ${keyCreations(phase2)}), recovery=${keyCalls(recovery)} ` +
        `(creations ${keyCreations(recovery)}); keys revoked unused=${revoked.length}\n`,
    );
  }, 600_000);

  it('leaks no credential into its logs or workflow histories (case 8)', async () => {
    expect((await scanWorld(w)).leaks).toEqual([]);
  });
});
