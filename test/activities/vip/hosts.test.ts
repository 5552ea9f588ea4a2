/** Who hosts a VIP service and whether traffic can flow through them, read from the simulator. */
import type { TailscaleClient } from '../../../activities/tailscale/client';
import { putVipService, setVipServiceHostApproval } from '../../../activities/tailscale/vip-services';
import { DeviceLabels, readVipServiceHosts } from '../../../activities/vip/hosts';
import { hostPollDelayMs, hostsReadiness, maxHostPolls } from '../../../workflows/vip-hosts';
import { startSim, type SimHarness } from '../../simulators/tailscale/support';
import { clientFor } from '../tailscale/support';

let h: SimHarness;
let client: TailscaleClient;

beforeAll(async () => {
  h = await startSim();
  client = await clientFor(h);
});
afterAll(() => h.close());

test('no host: NoHosts, naming our proxies that do not advertise it', async () => {
  await putVipService(client, { name: 'svc:quiet', ports: ['tcp:80'], tags: ['tag:web'] });
  const proxy = await h.device('quiet-0', ['tag:k8s']);
  const hosts = await readVipServiceHosts(client, 'svc:quiet', [proxy.nodeId, 'nGone'], new DeviceLabels());
  expect(hosts).toEqual([
    { name: 'nGone', nodeId: 'nGone', advertising: false, approved: false, tags: [] },
    { name: 'quiet-0', nodeId: proxy.nodeId, advertising: false, approved: false, tags: ['tag:k8s'] },
  ]);
  expect(hostsReadiness('svc:quiet', hosts)).toMatchObject({ ready: false, reason: 'NoHosts' });
  expect(hostsReadiness('svc:quiet', hosts)?.message).toContain('not advertising: nGone, quiet-0');
});

test('advertising but not approved: HostNotApproved with the policy that would approve it; approved by hand: ready', async () => {
  await putVipService(client, { name: 'svc:manual', ports: ['tcp:80'], tags: ['tag:web'] });
  const proxy = await h.device('manual-0', ['tag:k8s']);
  await h.admin.advertiseServices({ nodeId: proxy.nodeId, services: ['svc:manual'] });
  const waiting = await readVipServiceHosts(client, 'svc:manual', [proxy.nodeId], new DeviceLabels());
  expect(waiting).toEqual([
    {
      name: 'manual-0',
      nodeId: proxy.nodeId,
      advertising: true,
      approved: false,
      approvalLevel: 'not-approved',
      tags: ['tag:k8s'],
    },
  ]);
  const readiness = hostsReadiness('svc:manual', waiting);
  expect(readiness).toMatchObject({ ready: false, reason: 'HostNotApproved' });
  expect(readiness?.message).toContain('"autoApprovers": {"services": {"svc:manual": ["tag:k8s"]}}');
  expect(readiness?.message).toContain('/services/svc:manual/device/<nodeId>/approved');

  await setVipServiceHostApproval(client, 'svc:manual', proxy.nodeId, true);
  const approved = await readVipServiceHosts(client, 'svc:manual', [proxy.nodeId], new DeviceLabels());
  expect(approved[0]).toMatchObject({ approved: true, approvalLevel: 'approved:manual' });
  expect(hostsReadiness('svc:manual', approved)).toMatchObject({ ready: true, reason: 'HostsApproved' });
});

test('the tailnet policy approves: ready without a manual step', async () => {
  await h.admin.setPolicy({ autoApprovers: { services: { 'svc:auto': ['tag:k8s'] } } });
  await putVipService(client, { name: 'svc:auto', ports: ['tcp:80'], tags: ['tag:web'] });
  const proxy = await h.device('auto-0', ['tag:k8s']);
  await h.admin.advertiseServices({ nodeId: proxy.nodeId, services: ['svc:auto'] });
  const hosts = await readVipServiceHosts(client, 'svc:auto', [], new DeviceLabels());
  expect(hosts[0]).toMatchObject({ advertising: true, approved: true, approvalLevel: 'approved:auto' });
  expect(hostsReadiness('svc:auto', hosts)?.ready).toBe(true);
});

test('device labels are kept for their TTL; approval and devices Tailscale does not know are read every time', async () => {
  await putVipService(client, { name: 'svc:kept', ports: ['tcp:80'], tags: ['tag:web'] });
  const proxy = await h.device('kept-0', ['tag:k8s']);
  await h.admin.advertiseServices({ nodeId: proxy.nodeId, services: ['svc:kept'] });
  let now = 0;
  const labels = new DeviceLabels(30_000, () => now);
  const deviceGets = async () => (await h.admin.requestCounts()).routes['GET /api/v2/device/{deviceId}'] ?? 0;
  const read = () => readVipServiceHosts(client, 'svc:kept', [proxy.nodeId, 'nGone'], labels);
  const before = await deviceGets();

  await read();
  const token = await h.token(undefined, ['tag:k8s', 'tag:web']);
  const retag = await h.call('POST', `/api/v2/device/${proxy.nodeId}/tags`, {
    token,
    body: { tags: ['tag:k8s', 'tag:web'] },
  });
  expect(retag.status).toBe(200);
  await setVipServiceHostApproval(client, 'svc:kept', proxy.nodeId, true);
  now = 29_999;
  const within = await read();
  expect(within[0]).toMatchObject({ name: 'kept-0', approved: true, tags: ['tag:k8s'] });
  // Both reads asked for nGone; kept-0 was asked once.
  expect((await deviceGets()) - before).toBe(3);

  now = 30_000;
  const after = await read();
  expect(after[0]).toMatchObject({ name: 'kept-0', tags: ['tag:k8s', 'tag:web'] });
  expect((await deviceGets()) - before).toBe(5);
});

test('hosts not read: no verdict (Ready rests on the rest, as before)', () => {
  expect(hostsReadiness('svc:old', undefined)).toBeUndefined();
});

test('polling while not ready is bounded: about an hour in all, no step over 10 min', () => {
  const delays = Array.from({ length: maxHostPolls }, (_, i) => hostPollDelayMs(i));
  expect(Math.max(...delays)).toBe(10 * 60_000);
  const total = delays.reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThan(50 * 60_000);
  expect(total).toBeLessThan(70 * 60_000);
});
