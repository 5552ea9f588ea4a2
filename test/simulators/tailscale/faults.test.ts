/* eslint-disable @typescript-eslint/no-unsafe-assignment -- jest asymmetric matchers (expect.any, ...) are typed any */
/** Fault injection: statuses with Retry-After, rates, counts, latency, resets, lost updates and lost responses. */
import { globToRegExp } from '../../../simulators/tailscale/faults';
import { startSim, vipPath, type SimHarness } from './support';
import { eventually } from '../../support/eventually';

let h: SimHarness;
let token: string;
const faultRandom: number[] = [];

beforeAll(async () => {
  h = await startSim({ faultRandom: () => faultRandom.shift() ?? 0 });
  token = await h.token(['services', 'devices:core']);
});
afterEach(() => h.admin.clearFaults());
afterAll(() => h.close());

interface Service {
  name: string;
  addrs: string[];
  comment?: string;
}

const get = (name: string) => h.call<Service>('GET', vipPath(name), { token });
const put = (body: Service | { name: string; comment?: string }) =>
  h.call<Service>('PUT', vipPath(body.name), { token, body });

test('globs: * stays within a segment, ** spans segments', () => {
  expect(globToRegExp('/api/v2/tailnet/*/vip-services/*').test('/api/v2/tailnet/-/vip-services/svc:a')).toBe(
    true,
  );
  expect(
    globToRegExp('/api/v2/tailnet/*/vip-services/*').test('/api/v2/tailnet/-/vip-services/svc:a/x'),
  ).toBe(false);
  expect(globToRegExp('/api/v2/**').test('/api/v2/tailnet/-/devices')).toBe(true);
  expect(globToRegExp('/api/v2/tailnet/-/keys').test('/api/v2/tailnet/-/keysX')).toBe(false);
});

test('an error fault answers its status and JSON message for matching method and path only', async () => {
  const created = (await put({ name: 'svc:f1' })).json;
  await h.admin.addFault({
    kind: 'error',
    status: 502,
    method: 'GET',
    path: '/api/v2/tailnet/*/vip-services/svc:f1',
  });
  const faulted = await get('svc:f1');
  expect(faulted.status).toBe(502);
  expect(faulted.json).toEqual({ message: 'bad gateway' });
  expect((await h.call('GET', '/api/v2/tailnet/-/vip-services', { token })).status).toBe(200);
  expect((await put({ name: 'svc:f1', comment: 'x', addrs: created.addrs })).status).toBe(200);
});

test('429 with Retry-After, fired a limited number of times', async () => {
  const before = Date.now();
  const rule = await h.admin.addFault({
    kind: 'error',
    status: 429,
    retryAfterSeconds: 7,
    count: 2,
    path: '/api/v2/tailnet/-/devices',
  });
  const list = () => h.call('GET', '/api/v2/tailnet/-/devices', { token });
  const first = await list();
  expect(first.status).toBe(429);
  expect(first.headers.get('retry-after')).toBe('7');
  expect(first.json).toEqual({ message: 'too many requests' });
  expect((await list()).status).toBe(429);
  expect((await list()).status).toBe(200);
  const [view] = await h.admin.listFaults();
  expect(view).toMatchObject({ id: rule.id, matched: 3, fired: 2 });
  expect(view?.firedAt).toHaveLength(2);
  expect(view?.firedAt[0]).toBeGreaterThanOrEqual(before);
  expect(view?.firedAt[1]).toBeGreaterThanOrEqual(view!.firedAt[0]!);
});

test('skip lets the first N matching requests through', async () => {
  await h.admin.addFault({
    kind: 'error',
    status: 500,
    skip: 1,
    count: 1,
    path: '/api/v2/tailnet/-/devices',
  });
  const statuses = [];
  for (let i = 0; i < 3; i++)
    statuses.push((await h.call('GET', '/api/v2/tailnet/-/devices', { token })).status);
  expect(statuses).toEqual([200, 500, 200]);
});

test('a rate fault hits only the requests its random draw selects', async () => {
  await h.admin.addFault({ kind: 'error', status: 503, rate: 0.5, path: '/api/v2/tailnet/-/devices' });
  faultRandom.push(0.9, 0.1, 0.6, 0.4);
  const statuses = [];
  for (let i = 0; i < 4; i++)
    statuses.push((await h.call('GET', '/api/v2/tailnet/-/devices', { token })).status);
  expect(statuses).toEqual([200, 503, 200, 503]);
});

test('latency delays the answer', async () => {
  await h.admin.addFault({ kind: 'latency', latencyMs: 300, path: '/api/v2/tailnet/-/devices' });
  const started = Date.now();
  expect((await h.call('GET', '/api/v2/tailnet/-/devices', { token })).status).toBe(200);
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
});

test('reset destroys the connection; the next request is served', async () => {
  await h.admin.addFault({ kind: 'reset', count: 1, path: '/api/v2/tailnet/-/devices' });
  await expect(h.call('GET', '/api/v2/tailnet/-/devices', { token })).rejects.toThrow(/fetch failed/);
  expect((await h.call('GET', '/api/v2/tailnet/-/devices', { token })).status).toBe(200);
});

describe('lost responses: the request takes effect, its answer does not arrive', () => {
  test('a 502 after the write: the service exists although the caller saw a failure', async () => {
    await h.admin.addFault({ kind: 'lost-response', status: 502, method: 'PUT', count: 1 });
    const reply = await put({ name: 'svc:committed', comment: 'v1' });
    expect(reply.status).toBe(502);
    expect(reply.json).toEqual({ message: 'bad gateway' });
    expect((await get('svc:committed')).json.comment).toBe('v1');
  });

  test('a reset after the write: the connection drops, the write stays', async () => {
    await h.admin.addFault({ kind: 'lost-response', method: 'PUT', count: 1 });
    await expect(put({ name: 'svc:reset-after', comment: 'v1' })).rejects.toThrow(/fetch failed/);
    expect((await get('svc:reset-after')).json.comment).toBe('v1');
  });

  test('an error fault listed first answers instead, and nothing is written', async () => {
    await h.admin.addFault({ kind: 'error', status: 503, method: 'PUT', count: 1 });
    const lost = await h.admin.addFault({ kind: 'lost-response', status: 500, method: 'PUT', count: 1 });
    expect((await put({ name: 'svc:refused' })).status).toBe(503);
    expect((await get('svc:refused')).status).toBe(404);
    expect((await h.admin.listFaults()).find((f) => f.id === lost.id)?.fired).toBe(0);
  });

  test('a lost response must be a 5xx or a reset', async () => {
    await expect(h.admin.addFault({ kind: 'lost-response', status: 404 })).rejects.toMatchObject({
      status: 400,
    });
  });
});

describe('lost updates between concurrent writers', () => {
  test('drop: the PUT is acknowledged with 200 and the new object, but never stored', async () => {
    const created = (await put({ name: 'svc:lost', comment: 'v1' })).json;
    await h.admin.addFault({ kind: 'lost-update', mode: 'drop', method: 'PUT', count: 1 });
    const ack = await put({ name: 'svc:lost', addrs: created.addrs, comment: 'v2' });
    expect(ack.status).toBe(200);
    expect(ack.json.comment).toBe('v2');
    expect((await get('svc:lost')).json.comment).toBe('v1');
    // Read-back verification and a retry fix it once the fault is spent.
    expect((await put({ name: 'svc:lost', addrs: created.addrs, comment: 'v2' })).status).toBe(200);
    expect((await get('svc:lost')).json.comment).toBe('v2');
  });

  test('revert: the write is visible for a moment, then a stale writer puts the previous value back', async () => {
    const created = (await put({ name: 'svc:stale', comment: 'v1' })).json;
    await h.admin.addFault({
      kind: 'lost-update',
      mode: 'revert',
      revertAfterMs: 200,
      method: 'PUT',
      count: 1,
    });
    expect((await put({ name: 'svc:stale', addrs: created.addrs, comment: 'v2' })).status).toBe(200);
    expect((await get('svc:stale')).json.comment).toBe('v2');
    await eventually('the stale writer puts v1 back', async () =>
      (await get('svc:stale')).json.comment === 'v1' ? true : undefined,
    );
  });

  test('revert of a create removes the service again', async () => {
    await h.admin.addFault({ kind: 'lost-update', mode: 'revert', method: 'PUT', count: 1 });
    expect((await put({ name: 'svc:ghostly' })).status).toBe(200);
    expect((await get('svc:ghostly')).status).toBe(404);
  });
});

test('invalid fault specs are refused with 400 (in-process and over HTTP)', async () => {
  await expect(h.admin.addFault({ kind: 'error', status: 200 })).rejects.toMatchObject({ status: 400 });
  const reply = await h.call('POST', '/__admin/faults', { body: { kind: 'explode' } });
  expect(reply.status).toBe(400);
  expect(reply.json).toEqual({ message: expect.stringMatching(/kind/) });
});

test('removeFault stops a rule', async () => {
  const rule = await h.admin.addFault({ kind: 'error', status: 500, path: '/api/v2/tailnet/-/devices' });
  expect((await h.call('GET', '/api/v2/tailnet/-/devices', { token })).status).toBe(500);
  expect(await h.admin.removeFault(rule.id)).toBe(true);
  expect((await h.call('GET', '/api/v2/tailnet/-/devices', { token })).status).toBe(200);
  expect(await h.admin.removeFault(rule.id)).toBe(false);
});
