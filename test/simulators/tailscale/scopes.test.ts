/** §1.2 / §1.8 item 7: scope enforcement, with 404 (not 403) for services without the `services` scope. */
import { scopeGranted } from '../../../simulators/tailscale/scopes';
import { startSim, vipPath, type SimHarness } from './support';

describe('scopeGranted', () => {
  test.each([
    [['services'], 'services:read', true],
    [['services:read'], 'services', false],
    [['devices'], 'devices:core', true],
    [['devices:read'], 'devices:core:read', true],
    [['devices:read'], 'devices:core', false],
    [['all'], 'auth_keys', true],
    [['all:read'], 'auth_keys:read', true],
    [['all:read'], 'auth_keys', false],
    [['devices:core'], 'services:read', false],
  ])('%j covers %s: %s', (granted, required, expected) => {
    expect(scopeGranted(granted, required)).toBe(expected);
  });
});

describe('over HTTP', () => {
  let h: SimHarness;
  let full: string;
  let device: { nodeId: string };

  beforeAll(async () => {
    h = await startSim();
    full = await h.token(['services', 'devices:core', 'auth_keys']);
    await h.call('PUT', vipPath('svc:scoped'), { token: full, body: { name: 'svc:scoped' } });
    device = await h.device('scoped-host');
  });
  afterAll(() => h.close());

  test('services routes without the services scope answer 404 not found, not 403', async () => {
    const token = await h.token(['devices:core', 'auth_keys']);
    for (const [method, path] of [
      ['GET', '/api/v2/tailnet/-/vip-services'],
      ['GET', '/api/v2/tailnet/-/services'],
      ['GET', vipPath('svc:scoped')],
      ['PUT', vipPath('svc:scoped')],
      ['DELETE', vipPath('svc:scoped')],
    ] as const) {
      const reply = await h.call(method, path, {
        token,
        body: method === 'PUT' ? { name: 'svc:scoped' } : undefined,
      });
      expect({ method, path, status: reply.status, json: reply.json }).toEqual({
        method,
        path,
        status: 404,
        json: { message: 'not found' },
      });
    }
    expect((await h.call('GET', vipPath('svc:scoped'), { token: full })).status).toBe(200);
  });

  test('services:read may read but a write answers 404', async () => {
    const token = await h.token(['services:read']);
    expect((await h.call('GET', vipPath('svc:scoped'), { token })).status).toBe(200);
    expect((await h.call('PUT', vipPath('svc:scoped'), { token, body: { name: 'svc:scoped' } })).status).toBe(
      404,
    );
  });

  test('devices need devices:core (read for GET) and answer 403 forbidden without it', async () => {
    const none = await h.token(['services']);
    const readOnly = await h.token(['devices:core:read']);
    const list = await h.call('GET', '/api/v2/tailnet/-/devices', { token: none });
    expect(list.status).toBe(403);
    expect(list.json).toEqual({ message: 'forbidden' });
    expect((await h.call('GET', `/api/v2/device/${device.nodeId}`, { token: readOnly })).status).toBe(200);
    expect((await h.call('DELETE', `/api/v2/device/${device.nodeId}`, { token: readOnly })).status).toBe(403);
  });

  test('auth keys need auth_keys (read for listing) and answer 403 without it', async () => {
    const none = await h.token(['services']);
    const readOnly = await h.token(['auth_keys:read']);
    const body = { capabilities: { devices: { create: { tags: ['tag:k8s'] } } } };
    expect((await h.call('POST', '/api/v2/tailnet/-/keys', { token: none, body })).status).toBe(403);
    expect((await h.call('GET', '/api/v2/tailnet/-/keys', { token: none })).status).toBe(403);
    expect((await h.call('GET', '/api/v2/tailnet/-/keys', { token: readOnly })).status).toBe(200);
    expect((await h.call('POST', '/api/v2/tailnet/-/keys', { token: readOnly, body })).status).toBe(403);
  });

  test('hosts and approvals need services and devices:core', async () => {
    const hostsPath = '/api/v2/tailnet/-/services/svc:scoped/devices';
    const approvalPath = `/api/v2/tailnet/-/services/svc:scoped/device/${device.nodeId}/approved`;
    const servicesOnly = await h.token(['services']);
    const devicesOnly = await h.token(['devices:core']);
    expect((await h.call('GET', hostsPath, { token: servicesOnly })).status).toBe(403);
    expect((await h.call('GET', hostsPath, { token: devicesOnly })).status).toBe(404);
    expect((await h.call('GET', hostsPath, { token: full })).status).toBe(200);
    const approve = { approved: true };
    expect((await h.call('POST', approvalPath, { token: servicesOnly, body: approve })).status).toBe(403);
    expect((await h.call('POST', approvalPath, { token: full, body: approve })).status).toBe(200);
  });

  test('a tailnet with Tailscale Services switched off answers 404 on services routes', async () => {
    await h.admin.setTailnetSettings({ servicesEnabled: false });
    try {
      const reply = await h.call('GET', '/api/v2/tailnet/-/vip-services', { token: full });
      expect(reply.status).toBe(404);
      expect(reply.json).toEqual({ message: 'not found' });
    } finally {
      await h.admin.setTailnetSettings({ servicesEnabled: true });
    }
    expect((await h.call('GET', '/api/v2/tailnet/-/vip-services', { token: full })).status).toBe(200);
  });

  test('an empty service list is 200 [] by default and 404 when switched (unverified variant)', async () => {
    const other = await h.admin.createTailnet({ name: 'empty.example' });
    const client = await h.admin.createOAuthClient({ scopes: ['services'], tailnet: other.id });
    const reply = await h.call<{ access_token: string }>('POST', '/api/v2/oauth/token', {
      rawBody: new URLSearchParams({ client_id: client.id, client_secret: client.secret }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const token = reply.json.access_token;
    const list = await h.call('GET', '/api/v2/tailnet/-/vip-services', { token });
    expect(list.json).toEqual({ vipServices: [] });
    await h.admin.setCompat({ emptyServiceListStatus: 404 });
    try {
      expect((await h.call('GET', '/api/v2/tailnet/-/vip-services', { token })).status).toBe(404);
    } finally {
      await h.admin.setCompat({ emptyServiceListStatus: 200 });
    }
  });
});
