/* eslint-disable @typescript-eslint/no-unsafe-assignment -- jest asymmetric matchers (expect.any, ...) are typed any */
/** §1.8 items 1, 3, 4, 5, 6 and 7 (VIP services) against the simulator over HTTP. */
import { isTailscaleIpv4, isTailscaleIpv6 } from '../../../simulators/tailscale/addresses';
import { startSim, vipPath, type SimHarness } from './support';

interface Service {
  name: string;
  addrs: string[];
  comment?: string;
  annotations?: Record<string, string>;
  ports?: string[];
  tags?: string[];
  message?: string;
}

let h: SimHarness;
let token: string;

beforeAll(async () => {
  h = await startSim();
  token = await h.token(['services', 'devices:core', 'auth_keys']);
});
afterAll(() => h.close());

const put = (name: string, body: unknown, path = vipPath(name)) =>
  h.call<Service>('PUT', path, { token, body });
const get = (name: string, path = vipPath(name)) => h.call<Service>('GET', path, { token });

describe('path spellings and names', () => {
  test('both /vip-services and /services serve the same services, listed under "vipServices"', async () => {
    expect((await put('svc:spell', { name: 'svc:spell', comment: 'via vip-services' })).status).toBe(200);
    expect((await put('svc:spell2', { name: 'svc:spell2' }, vipPath('svc:spell2', 'services'))).status).toBe(
      200,
    );

    for (const spelling of ['vip-services', 'services'] as const) {
      const list = await h.call<{ vipServices: Service[] }>('GET', `/api/v2/tailnet/-/${spelling}`, {
        token,
      });
      expect(list.status).toBe(200);
      expect(list.json.vipServices.map((s) => s.name)).toEqual(
        expect.arrayContaining(['svc:spell', 'svc:spell2']),
      );
      expect((await get('svc:spell', vipPath('svc:spell', spelling))).json.comment).toBe('via vip-services');
    }
  });

  test('percent-encoded svc%3Aweb and raw svc:web name the same service', async () => {
    await put('svc:web', { name: 'svc:web', comment: 'encoded' });
    const encoded = await h.call<Service>('GET', '/api/v2/tailnet/-/vip-services/svc%3Aweb', { token });
    const raw = await h.call<Service>('GET', '/api/v2/tailnet/-/vip-services/svc:web', { token });
    expect(encoded.status).toBe(200);
    expect(raw.status).toBe(200);
    expect(encoded.json).toEqual(raw.json);
    expect(raw.json.name).toBe('svc:web');
  });

  test('the bare name without svc: is 404 even when svc:<name> exists', async () => {
    await put('svc:bare', { name: 'svc:bare' });
    const bare = await h.call('GET', '/api/v2/tailnet/-/vip-services/bare', { token });
    expect(bare.status).toBe(404);
    expect(bare.json).toEqual({ message: 'not found' });
    expect(
      (await h.call('PUT', '/api/v2/tailnet/-/vip-services/bare', { token, body: { name: 'bare' } })).status,
    ).toBe(404);
  });

  test('a missing service is 404 with a JSON message; its message is switchable', async () => {
    const missing = await get('svc:nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(missing.json).toEqual({ message: 'not found' });

    await h.admin.setCompat({ missingServiceMessage: 'service not found' });
    try {
      expect((await get('svc:nope')).json).toEqual({ message: 'service not found' });
    } finally {
      await h.admin.setCompat({ missingServiceMessage: 'not found' });
    }
  });

  test('an invalid DNS label after svc: is 400', async () => {
    const reply = await put('svc:-bad-', { name: 'svc:-bad-' });
    expect(reply.status).toBe(400);
    expect(typeof reply.json).toBe('object');
  });
});

describe('PUT semantics', () => {
  test('create allocates [IPv4, IPv6] in the tailnet ranges and answers 200 with the object', async () => {
    const created = await put('svc:alloc', { name: 'svc:alloc', ports: ['tcp:443'], tags: ['tag:web'] });
    expect(created.status).toBe(200);
    expect(created.json.name).toBe('svc:alloc');
    const [ipv4, ipv6] = created.json.addrs;
    expect(isTailscaleIpv4(ipv4!)).toBe(true);
    expect(isTailscaleIpv6(ipv6!)).toBe(true);
    expect((await get('svc:alloc')).json.addrs).toEqual(created.json.addrs);
  });

  test('create with one chosen IPv4 keeps it; two addresses or an IPv6 on create is 400', async () => {
    const chosen = await put('svc:chosen', { name: 'svc:chosen', addrs: ['100.80.1.2'] });
    expect(chosen.status).toBe(200);
    expect(chosen.json.addrs[0]).toBe('100.80.1.2');
    expect(isTailscaleIpv6(chosen.json.addrs[1]!)).toBe(true);

    expect(
      (await put('svc:two', { name: 'svc:two', addrs: ['100.80.1.3', 'fd7a:115c:a1e0::1234'] })).status,
    ).toBe(400);
    expect((await put('svc:six', { name: 'svc:six', addrs: ['fd7a:115c:a1e0::1234'] })).status).toBe(400);
    expect((await put('svc:outside', { name: 'svc:outside', addrs: ['10.0.0.1'] })).status).toBe(400);
    expect((await put('svc:taken', { name: 'svc:taken', addrs: ['100.80.1.2'] })).status).toBe(400);
    expect((await get('svc:two')).status).toBe(404);
  });

  test('PUT is a full replace: fields left out, annotations included, are dropped', async () => {
    const first = await put('svc:replace', {
      name: 'svc:replace',
      comment: 'managed',
      annotations: { 'gateway.tailscale.com/owner-operator': 'a' },
      ports: ['tcp:80'],
      tags: ['tag:a'],
    });
    const second = await put('svc:replace', {
      name: 'svc:replace',
      addrs: first.json.addrs,
      tags: ['tag:b'],
    });
    expect(second.status).toBe(200);
    const stored = (await get('svc:replace')).json;
    expect(stored).toEqual({ name: 'svc:replace', addrs: first.json.addrs, tags: ['tag:b'] });
  });

  test('update without addrs is 400 and changes nothing', async () => {
    const created = await put('svc:noaddrs', { name: 'svc:noaddrs', comment: 'before' });
    const reply = await put('svc:noaddrs', { name: 'svc:noaddrs', comment: 'after' });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ message: expect.stringMatching(/addrs/) });
    expect((await get('svc:noaddrs')).json).toEqual(created.json);
  });

  test('update may move the IPv4 to a free address but never change the IPv6', async () => {
    const created = (await put('svc:move', { name: 'svc:move' })).json;
    const moved = await put('svc:move', { name: 'svc:move', addrs: ['100.81.0.9', created.addrs[1]] });
    expect(moved.status).toBe(200);
    expect(moved.json.addrs).toEqual(['100.81.0.9', created.addrs[1]]);

    const v6Change = await put('svc:move', {
      name: 'svc:move',
      addrs: ['100.81.0.9', 'fd7a:115c:a1e0::beef'],
    });
    expect(v6Change.status).toBe(400);
    expect(v6Change.json.message).toMatch(/IPv6/);
    expect((await get('svc:move')).json.addrs).toEqual(['100.81.0.9', created.addrs[1]]);
  });

  test('a body name different from the path renames an existing service', async () => {
    const created = (await put('svc:old', { name: 'svc:old', comment: 'x' })).json;
    const renamed = await put('svc:old', { name: 'svc:new', addrs: created.addrs, comment: 'x' });
    expect(renamed.status).toBe(200);
    expect((await get('svc:old')).status).toBe(404);
    expect((await get('svc:new')).json).toEqual({ name: 'svc:new', addrs: created.addrs, comment: 'x' });
  });

  test('renaming onto another existing service is 409 conflict', async () => {
    const a = (await put('svc:ra', { name: 'svc:ra' })).json;
    await put('svc:rb', { name: 'svc:rb' });
    const reply = await put('svc:ra', { name: 'svc:rb', addrs: a.addrs });
    expect(reply.status).toBe(409);
    expect((await get('svc:ra')).status).toBe(200);
  });

  test('on create, a body name different from the path is 400 and nothing is created', async () => {
    const reply = await put('svc:path', { name: 'svc:body' });
    expect(reply.status).toBe(400);
    expect((await get('svc:path')).status).toBe(404);
    expect((await get('svc:body')).status).toBe(404);
  });

  test('every successful write answers 200, DELETE included; DELETE of a missing service is 404', async () => {
    const created = await put('svc:writes', { name: 'svc:writes' });
    expect(created.status).toBe(200);
    expect((await put('svc:writes', { name: 'svc:writes', addrs: created.json.addrs })).status).toBe(200);
    const deleted = await h.call('DELETE', vipPath('svc:writes'), { token });
    expect(deleted.status).toBe(200);
    expect((await get('svc:writes')).status).toBe(404);
    const again = await h.call('DELETE', vipPath('svc:writes'), { token });
    expect(again.status).toBe(404);
    expect(again.json).toEqual({ message: 'not found' });
  });
});

describe('names shared with devices', () => {
  test('a name equal to a device hostname is 400 "name exists but is not a service" on GET, PUT and DELETE', async () => {
    await h.device('greg-test');
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const reply = await h.call(method, vipPath('svc:greg-test'), {
        token,
        body: method === 'PUT' ? { name: 'svc:greg-test' } : undefined,
      });
      expect({ method, status: reply.status, json: reply.json }).toEqual({
        method,
        status: 400,
        json: { message: 'name exists but is not a service' },
      });
    }
  });

  test('renaming a service onto a device name is 400 too', async () => {
    await h.device('printer');
    const created = (await put('svc:office', { name: 'svc:office' })).json;
    const reply = await put('svc:office', { name: 'svc:printer', addrs: created.addrs });
    expect(reply.json).toEqual({ message: 'name exists but is not a service' });
  });
});

describe('ports and tags validation', () => {
  test.each([
    [['tcp:443'], 200],
    [['tcp:80', 'tcp:8000-8100'], 200],
    [['do-not-validate'], 200],
    [['443'], 400],
    [['udp:53'], 400],
    [['tcp:0'], 400],
    [['tcp:70000'], 400],
    [['tcp:90-80'], 400],
    [['do-not-validate', 'tcp:443'], 400],
  ])('ports %j -> %i', async (ports, status) => {
    const name = `svc:ports-${Math.random().toString(36).slice(2, 8)}`;
    const reply = await put(name, { name, ports });
    expect(reply.status).toBe(status);
    if (status === 400)
      expect(reply.json).toEqual({ message: expect.stringMatching(/port|do-not-validate/) });
    else expect(reply.json.ports).toEqual(ports);
  });

  test.each([
    [['tag:web'], 200],
    [['tag:a-1', 'tag:B2'], 200],
    [['web'], 400],
    [['tag:1web'], 400],
    [['tag:we_b'], 400],
    [['tag:'], 400],
  ])('tags %j -> %i', async (tags, status) => {
    const name = `svc:tags-${Math.random().toString(36).slice(2, 8)}`;
    const reply = await put(name, { name, tags });
    expect(reply.status).toBe(status);
  });

  test('wrong JSON types are 400 naming the field', async () => {
    const reply = await put('svc:types', { name: 'svc:types', ports: 'tcp:443' });
    expect(reply.status).toBe(400);
    expect(reply.json.message).toMatch(/ports/);
    expect((await put('svc:types', { name: 'svc:types', annotations: { a: 1 } })).status).toBe(400);
    expect((await put('svc:types', { name: 42 })).status).toBe(400);
  });
});

describe('no ETag: the last write wins', () => {
  test('GET carries no ETag, If-Match is ignored, and concurrent writers overwrite each other silently', async () => {
    const created = await put('svc:race', { name: 'svc:race', comment: 'v0' });
    expect(created.headers.get('etag')).toBeNull();
    const read = await get('svc:race');
    expect(read.headers.get('etag')).toBeNull();

    const writerA = h.call('PUT', vipPath('svc:race'), {
      token,
      body: { name: 'svc:race', addrs: read.json.addrs, comment: 'writer A' },
      headers: { 'if-match': '"stale"' },
    });
    const a = await writerA;
    const b = await put('svc:race', { name: 'svc:race', addrs: read.json.addrs, comment: 'writer B' });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await get('svc:race')).json.comment).toBe('writer B');
  });
});
