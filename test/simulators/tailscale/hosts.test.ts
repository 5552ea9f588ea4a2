/** §1.8 item 10: service hosts and approval, manual and by the autoApprovers.services policy. */
import { startSim, vipPath, type SimHarness } from './support';

let h: SimHarness;
let token: string;

interface Hosts {
  hosts: Array<{ stableNodeID: string; nodeId: string; approvalLevel: string; configured: string }>;
}

beforeAll(async () => {
  h = await startSim();
  token = await h.token(['services', 'devices:core', 'auth_keys']);
});
afterAll(() => h.close());

const hostsOf = (name: string) =>
  h.call<Hosts>('GET', `/api/v2/tailnet/-/services/${name}/devices`, { token });
const approvalPath = (name: string, nodeId: string) =>
  `/api/v2/tailnet/-/services/${name}/device/${nodeId}/approved`;

test('advertising hosts appear as {stableNodeID (and nodeId), approvalLevel, configured}; unadvertising removes them', async () => {
  await h.call('PUT', vipPath('svc:app'), { token, body: { name: 'svc:app', tags: ['tag:app'] } });
  const a = await h.device('app-0', ['tag:k8s']);
  const b = await h.device('app-1', ['tag:k8s']);
  expect((await hostsOf('svc:app')).json).toEqual({ hosts: [] });

  await h.admin.advertiseServices({ nodeId: a.nodeId, services: ['svc:app'] });
  await h.admin.advertiseServices({ nodeId: b.nodeId, services: ['svc:app'] });
  const reply = await hostsOf('svc:app');
  expect(reply.status).toBe(200);
  expect(reply.json.hosts).toEqual([
    { stableNodeID: a.nodeId, nodeId: a.nodeId, approvalLevel: 'not-approved', configured: 'ready' },
    { stableNodeID: b.nodeId, nodeId: b.nodeId, approvalLevel: 'not-approved', configured: 'ready' },
  ]);

  await h.admin.unadvertiseServices({ nodeId: b.nodeId, services: ['svc:app'] });
  expect((await hostsOf('svc:app')).json.hosts.map((host) => host.nodeId)).toEqual([a.nodeId]);
});

test('manual approval via POST .../approved, read back via GET and in the host list', async () => {
  await h.call('PUT', vipPath('svc:manual'), { token, body: { name: 'svc:manual' } });
  const host = await h.device('manual-0');
  await h.admin.advertiseServices({ nodeId: host.nodeId, services: ['svc:manual'] });
  const path = approvalPath('svc:manual', host.nodeId);
  expect((await h.call('GET', path, { token })).json).toEqual({ approved: false, autoApproved: false });

  const set = await h.call('POST', path, { token, body: { approved: true } });
  expect(set.status).toBe(200);
  expect(set.json).toEqual({ approved: true, autoApproved: false });
  expect((await hostsOf('svc:manual')).json.hosts[0]!.approvalLevel).toBe('approved:manual');

  // Approval is not part of the service object, so a full-replace PUT keeps it.
  const current = (await h.call<{ addrs: string[] }>('GET', vipPath('svc:manual'), { token })).json;
  await h.call('PUT', vipPath('svc:manual'), { token, body: { name: 'svc:manual', addrs: current.addrs } });
  expect((await h.call('GET', path, { token })).json).toEqual({ approved: true, autoApproved: false });
  expect((await h.call('POST', path, { token, body: { approved: 'yes' } })).status).toBe(400);
});

test('autoApprovers.services approves hosts whose tags match, keyed by service name or service tag', async () => {
  await h.admin.setPolicy({
    autoApprovers: { services: { 'svc:auto': ['tag:k8s'], 'tag:svc-web': ['tag:web'] } },
  });
  await h.call('PUT', vipPath('svc:auto'), { token, body: { name: 'svc:auto' } });
  await h.call('PUT', vipPath('svc:tagged'), { token, body: { name: 'svc:tagged', tags: ['tag:svc-web'] } });
  const k8s = await h.device('auto-k8s', ['tag:k8s']);
  const web = await h.device('auto-web', ['tag:web']);
  for (const device of [k8s, web]) {
    await h.admin.advertiseServices({ nodeId: device.nodeId, services: ['svc:auto', 'svc:tagged'] });
  }
  const level = async (name: string) =>
    Object.fromEntries((await hostsOf(name)).json.hosts.map((host) => [host.nodeId, host.approvalLevel]));
  expect(await level('svc:auto')).toEqual({ [k8s.nodeId]: 'approved:auto', [web.nodeId]: 'not-approved' });
  expect(await level('svc:tagged')).toEqual({ [k8s.nodeId]: 'not-approved', [web.nodeId]: 'approved:auto' });
  expect((await h.call('GET', approvalPath('svc:auto', k8s.nodeId), { token })).json).toEqual({
    approved: true,
    autoApproved: true,
  });
});

test('only tagged devices may host a service', async () => {
  const untagged = await h.device('untagged-host', []);
  await expect(
    h.admin.advertiseServices({ nodeId: untagged.nodeId, services: ['svc:app'] }),
  ).rejects.toMatchObject({
    status: 400,
    message: 'service hosts must be tagged nodes',
  });
});

test('unknown service or device is 404 (JSON) on hosts and approval', async () => {
  const host = await h.device('lonely');
  expect((await hostsOf('svc:ghost')).status).toBe(404);
  const missingService = await h.call('GET', approvalPath('svc:ghost', host.nodeId), { token });
  expect(missingService.status).toBe(404);
  expect(missingService.json).toEqual({ message: 'Service or device not found' });
  await h.call('PUT', vipPath('svc:real'), { token, body: { name: 'svc:real' } });
  expect((await h.call('GET', approvalPath('svc:real', 'nMISSINGCNTRL'), { token })).status).toBe(404);
});

test('a deleted host drops out of the host list', async () => {
  await h.call('PUT', vipPath('svc:churn'), { token, body: { name: 'svc:churn' } });
  const host = await h.device('churn-0');
  await h.admin.advertiseServices({ nodeId: host.nodeId, services: ['svc:churn'] });
  await h.call('DELETE', `/api/v2/device/${host.nodeId}`, { token });
  expect((await hostsOf('svc:churn')).json.hosts).toEqual([]);
});
