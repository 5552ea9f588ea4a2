/* eslint-disable @typescript-eslint/no-unsafe-assignment -- jest asymmetric matchers (expect.any, ...) are typed any */
/** §1.4: device fields, `name` = `<host>.<suffix>`, lastSeen rules, filters, get and delete. */
import { startSim, type DeviceBody, type SimHarness } from './support';

let h: SimHarness;
let token: string;
const suffix = 'tail0622b6.ts.net';

beforeAll(async () => {
  h = await startSim({ dnsSuffix: suffix });
  token = await h.token(['devices:core', 'auth_keys']);
});
afterAll(() => h.close());

const list = (query = '') =>
  h.call<{ devices: DeviceBody[] }>('GET', `/api/v2/tailnet/-/devices${query}`, { token });
const getDevice = (id: string, query = '') =>
  h.call<DeviceBody>('GET', `/api/v2/device/${id}${query}`, { token });

test('a registered device has the documented default fields and name <host>.<suffix>', async () => {
  const registered = await h.device('pangolin', ['tag:k8s']);
  const reply = await getDevice(registered.nodeId);
  expect(reply.status).toBe(200);
  expect(reply.json).toEqual({
    addresses: [expect.stringMatching(/^100\./), expect.stringMatching(/^fd7a:115c:a1e0:/)],
    id: expect.stringMatching(/^\d+$/),
    nodeId: expect.stringMatching(/^n\w+CNTRL$/),
    user: expect.any(String),
    name: `pangolin.${suffix}`,
    hostname: 'pangolin',
    clientVersion: expect.any(String),
    updateAvailable: false,
    os: 'linux',
    created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    connectedToControl: true,
    keyExpiryDisabled: true,
    expires: '0001-01-01T00:00:00Z',
    authorized: true,
    isExternal: false,
    machineKey: expect.stringMatching(/^mkey:[0-9a-f]{64}$/),
    nodeKey: expect.stringMatching(/^nodekey:[0-9a-f]{64}$/),
    blocksIncomingConnections: false,
    tailnetLockKey: expect.stringMatching(/^nlpub:/),
    tailnetLockError: '',
    tags: ['tag:k8s'],
    isEphemeral: false,
  });
  expect(reply.json).not.toHaveProperty('lastSeen');
  expect((await getDevice(registered.id)).json.nodeId).toBe(registered.nodeId);
});

test('fields=all adds routes, connectivity and distro', async () => {
  const registered = await h.device('allfields');
  const reply = await getDevice(registered.nodeId, '?fields=all');
  expect(reply.json).toMatchObject({ enabledRoutes: [], advertisedRoutes: [], sshEnabled: false });
  expect(reply.json).toHaveProperty('clientConnectivity');
  expect(reply.json).toHaveProperty('distro');
  expect((await getDevice(registered.nodeId)).json).not.toHaveProperty('advertisedRoutes');
});

test('lastSeen is omitted while connected and present once offline', async () => {
  const registered = await h.device('flappy');
  await h.admin.setDeviceOnline({ nodeId: registered.nodeId, online: false });
  const offline = (await getDevice(registered.nodeId)).json;
  expect(offline.connectedToControl).toBe(false);
  expect(offline.lastSeen).toMatch(/^\d{4}-\d\d-\d\dT/);
  await h.admin.setDeviceOnline({ nodeId: registered.nodeId, online: true });
  expect((await getDevice(registered.nodeId)).json).not.toHaveProperty('lastSeen');
});

test('duplicate hostnames get -1, -2 MagicDNS labels; the suffix follows admin changes', async () => {
  const first = await h.device('twin');
  const second = await h.device('twin');
  expect(first.name).toBe(`twin.${suffix}`);
  expect(second.name).toBe(`twin-1.${suffix}`);
  await h.admin.setDnsSuffix({ suffix: 'tailabcdef.ts.net' });
  try {
    expect((await getDevice(first.nodeId)).json.name).toBe('twin.tailabcdef.ts.net');
  } finally {
    await h.admin.setDnsSuffix({ suffix });
  }
});

test('list filters are exact matches, AND-ed, and a list field must contain every value', async () => {
  const web = await h.device('filter-web', ['tag:k8s', 'tag:web']);
  const db = await h.device('filter-db', ['tag:k8s', 'tag:db']);
  const ids = async (query: string) => (await list(query)).json.devices.map((d) => d.nodeId);

  expect(await ids('?hostname=filter-web')).toEqual([web.nodeId]);
  expect(await ids('?tags=tag:k8s&tags=tag:db')).toEqual([db.nodeId]);
  expect(await ids('?tags=tag:web&hostname=filter-db')).toEqual([]);
  expect(await ids('?isEphemeral=false&hostname=filter-db')).toEqual([db.nodeId]);
  expect(await ids('?tags=tag:k8s')).toEqual(expect.arrayContaining([web.nodeId, db.nodeId]));
  const unknown = await list('?colour=blue');
  expect(unknown.status).toBe(400);
  expect(unknown.json).toEqual({ message: expect.stringMatching(/colour/) });
});

test('DELETE removes the device (200) and answers 404 when it is already gone', async () => {
  const registered = await h.device('doomed');
  const deleted = await h.call('DELETE', `/api/v2/device/${registered.nodeId}`, { token });
  expect(deleted.status).toBe(200);
  expect((await getDevice(registered.nodeId)).status).toBe(404);
  const again = await h.call('DELETE', `/api/v2/device/${registered.nodeId}`, { token });
  expect(again.status).toBe(404);
  expect(again.json).toEqual({ message: 'not found' });
  expect((await list('?hostname=doomed')).json.devices).toEqual([]);
});

test('a malformed device ID is 400', async () => {
  const reply = await getDevice('not..an-id');
  expect(reply.status).toBe(400);
  expect(reply.json).toEqual({ message: expect.any(String) });
});

test('authorize and retag through the device endpoints', async () => {
  const registered = await h.device('settable');
  const path = `/api/v2/device/${registered.nodeId}`;
  expect((await h.call('POST', `${path}/authorized`, { token, body: { authorized: false } })).status).toBe(
    200,
  );
  expect((await h.call('POST', `${path}/tags`, { token, body: { tags: ['tag:other'] } })).status).toBe(200);
  const read = (await getDevice(registered.nodeId)).json;
  expect([read.authorized, read.tags]).toEqual([false, ['tag:other']]);
  expect((await h.call('POST', `${path}/tags`, { token, body: { tags: ['bad'] } })).status).toBe(400);
});

test('an ephemeral device offline past the timeout disappears', async () => {
  const registered = await h.device('fleeting', ['tag:k8s'], { ephemeral: true });
  await h.admin.setDeviceOnline({ nodeId: registered.nodeId, online: false });
  await h.admin.advanceClock(29 * 60_000);
  expect((await getDevice(registered.nodeId)).status).toBe(200);
  await h.admin.advanceClock(2 * 60_000);
  expect((await getDevice(registered.nodeId)).status).toBe(404);
});

test('devices of another tailnet are invisible', async () => {
  const other = await h.admin.createTailnet({ name: 'other.example' });
  const { token: otherToken } = await h.admin.createApiKey({ tailnet: other.id });
  const mine = await h.device('private');
  expect((await h.call('GET', `/api/v2/device/${mine.nodeId}`, { token: otherToken })).status).toBe(404);
  const theirs = await h.call<{ devices: DeviceBody[] }>('GET', '/api/v2/tailnet/-/devices', {
    token: otherToken,
  });
  expect(theirs.json.devices).toEqual([]);
});
