/** Typed device calls against the simulator. */
import type { TailscaleClient } from '../../../activities/tailscale/client';
import { deleteDevice, getDevice, listDevices } from '../../../activities/tailscale/devices';
import { startSim, type SimHarness } from '../../simulators/tailscale/support';
import { clientFor } from './support';

let h: SimHarness;
let client: TailscaleClient;
beforeAll(async () => {
  h = await startSim({ dnsSuffix: 'tailclient1.ts.net' });
  client = await clientFor(h);
});
afterAll(() => h.close());

test('list with filters, get by nodeId, and the parsed fields', async () => {
  const a = await h.device('pg-0', ['tag:k8s', 'tag:pg']);
  await h.device('other', ['tag:k8s']);
  const filtered = await listDevices(client, { filters: { tags: ['tag:k8s', 'tag:pg'] } });
  expect(filtered.map((d) => d.nodeId)).toEqual([a.nodeId]);
  expect(filtered[0]).toMatchObject({
    nodeId: a.nodeId,
    name: 'pg-0.tailclient1.ts.net',
    hostname: 'pg-0',
    tags: ['tag:k8s', 'tag:pg'],
    connectedToControl: true,
    authorized: true,
    isExternal: false,
  });
  expect(filtered[0]!.lastSeen).toBeUndefined();
  expect(filtered[0]!.advertisedRoutes).toBeUndefined();

  const full = await getDevice(client, a.nodeId, { fields: 'all' });
  expect(full!.addresses).toEqual(a.addresses);
  expect(full!.advertisedRoutes).toEqual([]);
});

test('offline devices carry lastSeen', async () => {
  const device = await h.device('sleepy');
  await h.admin.setDeviceOnline({ nodeId: device.nodeId, online: false });
  const read = await getDevice(client, device.nodeId);
  expect(read!.connectedToControl).toBe(false);
  expect(read!.lastSeen).toMatch(/^\d{4}-/);
});

test('get of a missing device is null; delete is true then false', async () => {
  const device = await h.device('short-lived');
  expect(await deleteDevice(client, device.nodeId)).toBe(true);
  expect(await getDevice(client, device.nodeId)).toBeNull();
  expect(await deleteDevice(client, device.nodeId)).toBe(false);
});
