/* eslint-disable @typescript-eslint/no-unsafe-assignment -- jest asymmetric matchers (expect.any, ...) are typed any */
/** Typed VIP service calls against the simulator: CRUD, rename, read-modify-write, hosts and approval. */
import {
  deleteVipService,
  getVipService,
  getVipServiceHostApproval,
  listVipServiceHosts,
  listVipServices,
  putVipService,
  setVipServiceHostApproval,
} from '../../../activities/tailscale/vip-services';
import { startSim, type SimHarness } from '../../simulators/tailscale/support';
import { clientFor, thrown } from './support';
import type { TailscaleClient } from '../../../activities/tailscale/client';

let h: SimHarness;
let client: TailscaleClient;
beforeAll(async () => {
  h = await startSim();
  client = await clientFor(h);
});
afterAll(() => h.close());

test('create, read, list, update with copied addrs, delete', async () => {
  const created = await putVipService(client, {
    name: 'svc:crud',
    comment: 'managed',
    ports: ['tcp:443'],
    tags: ['tag:web'],
    annotations: { 'gateway.tailscale.com/schema-version': 'v1' },
  });
  expect(created).toMatchObject({ name: 'svc:crud', comment: 'managed', ports: ['tcp:443'] });
  expect(created!.addrs).toHaveLength(2);

  const read = await getVipService(client, 'svc:crud');
  expect(read).toEqual(created);
  expect((await listVipServices(client)).map((s) => s.name)).toContain('svc:crud');

  const updated = await putVipService(client, { ...read!, comment: 'changed' });
  expect(updated).toEqual({ ...read, comment: 'changed' });

  expect(await deleteVipService(client, 'svc:crud')).toBe(true);
  expect(await getVipService(client, 'svc:crud')).toBeNull();
  expect(await deleteVipService(client, 'svc:crud')).toBe(false);
});

test('rename by passing the current name', async () => {
  const created = await putVipService(client, { name: 'svc:before' });
  const renamed = await putVipService(
    client,
    { ...created!, name: 'svc:after' },
    { currentName: 'svc:before' },
  );
  expect(renamed!.name).toBe('svc:after');
  expect(await getVipService(client, 'svc:before')).toBeNull();
  expect((await getVipService(client, 'svc:after'))!.addrs).toEqual(created!.addrs);
});

test('an update without addrs is a non-retryable bad request', async () => {
  await putVipService(client, { name: 'svc:noaddrs' });
  const err = await thrown(() => putVipService(client, { name: 'svc:noaddrs', comment: 'x' }));
  expect(err).toMatchObject({ type: 'TailscaleBadRequest', status: 400, retryable: false });
});

test('a name without svc: is refused before any request is sent', async () => {
  await h.admin.resetRequestCounts();
  const err = await thrown(() => getVipService(client, 'web'));
  expect(err).toMatchObject({ type: 'TailscaleBadRequest', retryable: false });
  expect((err as Error).message).toMatch(/svc:web/);
  expect((await h.admin.requestCounts()).total).toBe(0);
});

test('names go out as svc:<name> and reach the right service', async () => {
  await h.admin.resetRequestCounts();
  await putVipService(client, { name: 'svc:colon' });
  expect(await h.admin.requestCounts()).toMatchObject({
    routes: expect.objectContaining({ 'PUT /api/v2/tailnet/-/vip-services/{name}': 1 }),
  });
  expect(await getVipService(client, 'svc:colon')).not.toBeNull();
});

test('a dropped write is acknowledged; only reading back reveals it', async () => {
  const created = await putVipService(client, { name: 'svc:verify', comment: 'v1' });
  await h.admin.addFault({ kind: 'lost-update', mode: 'drop', method: 'PUT', count: 1 });
  const ack = await putVipService(client, { ...created!, comment: 'v2' });
  expect(ack!.comment).toBe('v2');
  expect((await getVipService(client, 'svc:verify'))!.comment).toBe('v1');
});

test('hosts and approval', async () => {
  await putVipService(client, { name: 'svc:hosted' });
  const device = await h.device('hosted-0');
  await h.admin.advertiseServices({ nodeId: device.nodeId, services: ['svc:hosted'] });
  expect(await listVipServiceHosts(client, 'svc:hosted')).toEqual([
    { nodeId: device.nodeId, approvalLevel: 'not-approved', configured: 'ready' },
  ]);
  expect(await getVipServiceHostApproval(client, 'svc:hosted', device.nodeId)).toEqual({
    approved: false,
    autoApproved: false,
  });
  expect(await setVipServiceHostApproval(client, 'svc:hosted', device.nodeId, true)).toEqual({
    approved: true,
    autoApproved: false,
  });
  expect((await listVipServiceHosts(client, 'svc:hosted'))[0]!.approvalLevel).toBe('approved:manual');
});
