/** TailscaleClient over HTTP: token caching and refresh, shared exchanges, the client registry. */
import { TailscaleClient, pathSegment } from '../../../activities/tailscale/client';
import { TailscaleClientRegistry } from '../../../activities/tailscale/client-registry';
import { TailscaleApiError } from '../../../activities/tailscale/errors';
import { listVipServices } from '../../../activities/tailscale/vip-services';
import { listDevices } from '../../../activities/tailscale/devices';
import { startSim, type SimHarness } from '../../simulators/tailscale/support';
import { clientFor, silentLogger, thrown, tokenRequests } from './support';

let h: SimHarness;
let offsetMs = 0;
const now = () => Date.now() + offsetMs;

beforeAll(async () => {
  // The simulator and the clients share one clock so token lifetimes can be skipped through.
  h = await startSim({ now });
});
beforeEach(() => h.admin.resetRequestCounts());
afterAll(() => h.close());

test('one token exchange serves many calls', async () => {
  const client = await clientFor(h);
  for (let i = 0; i < 10; i++) await listVipServices(client);
  await Promise.all(Array.from({ length: 10 }, () => listDevices(client)));
  const counts = await h.admin.requestCounts();
  expect(counts.routes['POST /api/v2/oauth/token']).toBe(1);
  expect(counts.routes['GET /api/v2/tailnet/-/vip-services']).toBe(10);
  expect(counts.routes['GET /api/v2/tailnet/-/devices']).toBe(10);
});

test('concurrent first calls share a single token exchange', async () => {
  const client = await clientFor(h);
  await Promise.all(Array.from({ length: 20 }, () => listVipServices(client)));
  expect(await tokenRequests(h)).toBe(1);
});

test('the token is refreshed shortly before it expires, not earlier', async () => {
  const client = await clientFor(h, ['services'], [], { refreshMarginMs: 60_000, now });
  await listVipServices(client);
  offsetMs += 3600_000 - 120_000;
  await listVipServices(client);
  expect(await tokenRequests(h)).toBe(1);

  offsetMs += 90_000; // 30 s before expiry: inside the refresh margin
  await listVipServices(client);
  expect(await tokenRequests(h)).toBe(2);

  offsetMs += 3600_000; // the first token is long dead; the refreshed one too, so refresh again
  await listVipServices(client);
  expect(await tokenRequests(h)).toBe(3);
  const counts = await h.admin.requestCounts();
  expect(counts.routes['GET /api/v2/tailnet/-/vip-services']).toBe(4);
});

test('a token the server stopped accepting is replaced once and the call succeeds', async () => {
  const client = await clientFor(h, ['services']);
  await listVipServices(client);
  await h.admin.expireTokens();
  await expect(listVipServices(client)).resolves.toEqual(expect.any(Array));
  const counts = await h.admin.requestCounts();
  expect(counts.routes['POST /api/v2/oauth/token']).toBe(2);
  expect(counts.routes['GET /api/v2/tailnet/-/vip-services']).toBe(3);
});

test('a 401 on a freshly fetched token is not retried', async () => {
  const client = await clientFor(h, ['services']);
  await h.admin.addFault({
    kind: 'error',
    status: 401,
    message: 'API token invalid',
    path: '/api/v2/tailnet/-/vip-services',
  });
  try {
    const err = await thrown(() => listVipServices(client));
    expect(err).toMatchObject({ type: 'TailscaleUnauthorized', status: 401, retryable: false });
    expect((await h.admin.requestCounts()).routes['GET /api/v2/tailnet/-/vip-services']).toBe(1);
  } finally {
    await h.admin.clearFaults();
  }
});

test('a throttled token exchange holds every caller back until its Retry-After has passed', async () => {
  const client = await clientFor(h, ['services'], [], { now });
  await h.admin.addFault({
    kind: 'error',
    status: 429,
    retryAfterSeconds: 9,
    path: '/api/v2/oauth/token',
    count: 1,
  });
  await h.admin.addFault({ kind: 'error', status: 503, path: '/api/v2/oauth/token', count: 1 });
  try {
    expect(await thrown(() => listVipServices(client))).toMatchObject({
      status: 429,
      retryable: true,
      retryAfterMs: 9000,
    });
    // Within the 9 s nobody asks again; each caller is told how long is left.
    const held = await Promise.all([
      thrown(() => listVipServices(client)),
      thrown(() => listDevices(client)),
    ]);
    for (const err of held) {
      expect(err).toMatchObject({ status: 429, retryable: true });
      expect((err as TailscaleApiError).retryAfterMs).toBeGreaterThan(0);
      expect((err as TailscaleApiError).retryAfterMs).toBeLessThanOrEqual(9000);
    }
    expect(await tokenRequests(h)).toBe(1);

    offsetMs += 9_000;
    // A 5xx without Retry-After is retryable and holds nobody back.
    expect(await thrown(() => listVipServices(client))).toMatchObject({ status: 503, retryable: true });
    await expect(listVipServices(client)).resolves.toEqual(expect.any(Array));
    expect(await tokenRequests(h)).toBe(3);
  } finally {
    await h.admin.clearFaults();
  }
});

test('wrong client credentials fail with an actionable, secret-free message', async () => {
  const real = await h.admin.createOAuthClient({ scopes: ['services'] });
  const client = new TailscaleClient({
    clientId: real.id,
    clientSecret: `${real.secret}-wrong`,
    baseUrl: h.url,
    logger: silentLogger,
  });
  const err = await thrown(() => listVipServices(client));
  expect(err).toBeInstanceOf(TailscaleApiError);
  expect(err).toMatchObject({ type: 'TailscaleUnauthorized', status: 401, retryable: false });
  const message = (err as Error).message;
  expect(message).toContain(real.id);
  expect(message).toMatch(/client ID or secret/);
  expect(message).not.toContain(real.secret);
});

test('defaults: the real API base URL and the "-" tailnet; service names keep their colon in paths', () => {
  const client = new TailscaleClient({ clientId: 'k1', clientSecret: 's', logger: silentLogger });
  expect(client.baseUrl).toBe('https://api.tailscale.com');
  expect(client.tailnetPath('vip-services', 'svc:web')).toBe('/api/v2/tailnet/-/vip-services/svc:web');
  expect(pathSegment('a/b c')).toBe('a%2Fb%20c');
  const named = new TailscaleClient({
    clientId: 'k1',
    clientSecret: 's',
    tailnet: 'example.com',
    baseUrl: 'http://x/',
    logger: silentLogger,
  });
  expect(named.baseUrl).toBe('http://x');
  expect(named.tailnetPath('devices')).toBe('/api/v2/tailnet/example.com/devices');
});

test('the registry keeps one client per tailnet and replaces it when credentials change', async () => {
  const registry = new TailscaleClientRegistry({ logger: silentLogger });
  const a = await h.admin.createOAuthClient({ scopes: ['services'] });
  const config = { tailnetName: 'prod', clientId: a.id, clientSecret: a.secret, baseUrl: h.url };
  const first = registry.forTailnet(config);
  expect(registry.forTailnet({ ...config })).toBe(first);
  await listVipServices(first);
  await listVipServices(registry.forTailnet(config));
  expect(await tokenRequests(h)).toBe(1);

  const b = await h.admin.createOAuthClient({ scopes: ['services'] });
  const rotated = registry.forTailnet({ ...config, clientId: b.id, clientSecret: b.secret });
  expect(rotated).not.toBe(first);
  expect(registry.forTailnet({ ...config, tailnetName: 'staging' })).not.toBe(first);
  registry.forget('prod');
  expect(registry.forTailnet(config)).not.toBe(first);
});

test('a caller signal cancels the call', async () => {
  const client = await clientFor(h, ['services']);
  await listVipServices(client);
  await h.admin.addFault({ kind: 'latency', latencyMs: 2_000, path: '/api/v2/tailnet/-/vip-services' });
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const err = await thrown(() => listVipServices(client, { signal: controller.signal }));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(err).toMatchObject({ type: 'TailscaleCancelled', retryable: false });
  } finally {
    await h.admin.clearFaults();
  }
});
