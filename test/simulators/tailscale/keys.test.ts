/* eslint-disable @typescript-eslint/no-unsafe-assignment -- jest asymmetric matchers (expect.any, ...) are typed any */
/** §1.5: auth keys — capabilities, tag ownership, the secret only on create, `invalid` after use/revoke/expiry. */
import { startSim, type SimHarness } from './support';

interface KeyBody {
  id: string;
  key?: string;
  keyType: string;
  invalid: boolean;
  expires: string;
  created: string;
  updated: string;
  revoked?: string;
  capabilities: {
    devices: { create: { reusable: boolean; ephemeral: boolean; preauthorized: boolean; tags: string[] } };
  };
  message?: string;
}

let h: SimHarness;
let token: string;

beforeAll(async () => {
  h = await startSim();
  token = await h.token(['auth_keys', 'devices:core'], ['tag:k8s-operator']);
  await h.admin.setPolicy({ tagOwners: { 'tag:k8s': ['tag:k8s-operator'] } });
});
afterAll(() => h.close());

const create = (create: Record<string, unknown>, extra: Record<string, unknown> = {}, as = token) =>
  h.call<KeyBody>('POST', '/api/v2/tailnet/-/keys', {
    token: as,
    body: { capabilities: { devices: { create } }, ...extra },
  });
const getKey = (id: string) => h.call<KeyBody>('GET', `/api/v2/tailnet/-/keys/${id}`, { token });

test('what the operator sends creates a single-use, preauthorized, tagged key; the secret is only in that reply', async () => {
  const reply = await create(
    { reusable: false, ephemeral: false, tags: ['tag:k8s'], preauthorized: true },
    { expirySeconds: 0, description: '' },
  );
  expect(reply.status).toBe(200);
  expect(reply.json).toMatchObject({
    id: expect.stringMatching(/^k\w+CNTRL$/),
    key: expect.stringMatching(/^tskey-auth-/),
    keyType: 'auth',
    invalid: false,
    capabilities: {
      devices: { create: { reusable: false, ephemeral: false, preauthorized: true, tags: ['tag:k8s'] } },
    },
  });
  // expirySeconds 0 means the 90-day default.
  const lifetime = Date.parse(reply.json.expires) - Date.parse(reply.json.created);
  expect(lifetime).toBe(90 * 24 * 3600_000);

  const read = await getKey(reply.json.id);
  expect(read.status).toBe(200);
  expect(read.json.key).toBeUndefined();
  expect(read.text).not.toContain(reply.json.key!);
  expect(read.json.updated).toBe(read.json.created);
  const list = await h.call<{ keys: KeyBody[] }>('GET', '/api/v2/tailnet/-/keys?all=true', { token });
  expect(list.json.keys.map((k) => k.id)).toContain(reply.json.id);
  expect(list.text).not.toContain(reply.json.key!);
});

test('keys made with an OAuth token must carry tags the client owns', async () => {
  const untagged = await create({ preauthorized: true });
  expect(untagged.status).toBe(400);
  expect(untagged.json.message).toMatch(/tags/);
  expect((await create({ tags: ['tag:k8s-operator'] })).status).toBe(200);
  expect((await create({ tags: ['tag:k8s'] })).status).toBe(200);
  const foreign = await create({ tags: ['tag:prod'] });
  expect(foreign.status).toBe(403);
  expect((await create({ tags: ['not-a-tag'] })).status).toBe(400);
});

test('a user API key may create untagged keys; the minimum body is {"capabilities":{"devices":{}}}', async () => {
  const { token: userToken } = await h.admin.createApiKey();
  const reply = await h.call<KeyBody>('POST', '/api/v2/tailnet/-/keys', {
    token: userToken,
    body: { capabilities: { devices: {} } },
  });
  expect(reply.status).toBe(200);
  expect(reply.json.capabilities.devices.create).toEqual({
    reusable: false,
    ephemeral: false,
    preauthorized: false,
    tags: [],
  });
});

test('a single-use key turns invalid once a device logs in with it, and a second login is refused', async () => {
  const { json } = await create({ tags: ['tag:k8s'], preauthorized: true });
  await h.admin.registerDevice({ authKey: json.key!, hostname: 'single-use' });
  expect((await getKey(json.id)).json.invalid).toBe(true);
  await expect(h.admin.registerDevice({ authKey: json.key!, hostname: 'again' })).rejects.toMatchObject({
    status: 400,
    message: expect.stringMatching(/already been used/),
  });
});

test('a reusable key stays valid across logins', async () => {
  const { json } = await create({ tags: ['tag:k8s'], reusable: true });
  await h.admin.registerDevice({ authKey: json.key!, hostname: 'reuse-1' });
  await h.admin.registerDevice({ authKey: json.key!, hostname: 'reuse-2' });
  expect((await getKey(json.id)).json.invalid).toBe(false);
});

test('DELETE revokes: the key reads invalid with a revoked time, and logins are refused', async () => {
  const { json } = await create({ tags: ['tag:k8s'], reusable: true });
  expect((await h.call('DELETE', `/api/v2/tailnet/-/keys/${json.id}`, { token })).status).toBe(200);
  const read = (await getKey(json.id)).json;
  expect(read.invalid).toBe(true);
  expect(read.revoked).toEqual(expect.any(String));
  expect(read.updated).toBe(read.revoked);
  await expect(h.admin.registerDevice({ authKey: json.key!, hostname: 'revoked' })).rejects.toMatchObject({
    message: expect.stringMatching(/revoked/),
  });
  expect((await h.call('DELETE', '/api/v2/tailnet/-/keys/kMISSINGCNTRL', { token })).status).toBe(404);
  expect((await getKey('kMISSINGCNTRL')).status).toBe(404);
});

test('a key past its expiry reads invalid and is refused at login', async () => {
  const { json } = await create({ tags: ['tag:k8s'], reusable: true }, { expirySeconds: 60 });
  expect((await getKey(json.id)).json.invalid).toBe(false);
  await h.admin.advanceClock(61_000);
  expect((await getKey(json.id)).json.invalid).toBe(true);
  await expect(h.admin.registerDevice({ authKey: json.key!, hostname: 'late' })).rejects.toMatchObject({
    message: expect.stringMatching(/expired/),
  });
});

test('ephemeral and preauthorized capabilities reach the device', async () => {
  await h.admin.setTailnetSettings({ devicesApprovalOn: true });
  try {
    const plain = (await create({ tags: ['tag:k8s'] })).json;
    const special = (await create({ tags: ['tag:k8s'], ephemeral: true, preauthorized: true })).json;
    const a = await h.admin.registerDevice({ authKey: plain.key!, hostname: 'plain' });
    const b = await h.admin.registerDevice({ authKey: special.key!, hostname: 'special' });
    expect([a.isEphemeral, a.authorized]).toEqual([false, false]);
    expect([b.isEphemeral, b.authorized]).toEqual([true, true]);
    expect(b.tags).toEqual(['tag:k8s']);
  } finally {
    await h.admin.setTailnetSettings({ devicesApprovalOn: false });
  }
});

test('bad bodies are 400: no capabilities, wrong types, long descriptions, over-long expiry', async () => {
  const post = (body: unknown) => h.call('POST', '/api/v2/tailnet/-/keys', { token, body });
  expect((await post({})).status).toBe(400);
  expect(
    (await post({ capabilities: { devices: { create: { reusable: 'yes', tags: ['tag:k8s'] } } } })).status,
  ).toBe(400);
  expect((await create({ tags: ['tag:k8s'] }, { description: 'x'.repeat(51) })).status).toBe(400);
  expect((await create({ tags: ['tag:k8s'] }, { description: 'semi;colon' })).status).toBe(400);
  expect((await create({ tags: ['tag:k8s'] }, { expirySeconds: 91 * 24 * 3600 })).status).toBe(400);
  expect((await post({ keyType: 'mystery', capabilities: { devices: {} } })).status).toBe(400);
});

test('keyType "client" creates an OAuth client (needs oauth_keys) whose secret works at the token endpoint', async () => {
  expect(
    (
      await h.call('POST', '/api/v2/tailnet/-/keys', {
        token,
        body: { keyType: 'client', scopes: ['services'] },
      })
    ).status,
  ).toBe(403);
  const admin = await h.token(['oauth_keys']);
  const reply = await h.call<{ id: string; key: string; scopes: string[] }>(
    'POST',
    '/api/v2/tailnet/-/keys',
    {
      token: admin,
      body: { keyType: 'client', scopes: ['services'], tags: ['tag:k8s'] },
    },
  );
  expect(reply.status).toBe(200);
  expect(reply.json.key).toMatch(/^tskey-client-/);
  const exchanged = await h.call<{ scope: string }>('POST', '/api/v2/oauth/token', {
    rawBody: new URLSearchParams({ client_id: reply.json.id, client_secret: reply.json.key }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  expect(exchanged.json.scope).toBe('services');
});

test('without all=true an OAuth token lists the OAuth clients, not even its own auth keys; all=true lists every key', async () => {
  const other = await h.token(['auth_keys', 'oauth_keys:read'], ['tag:k8s-operator']);
  const mine = (await create({ tags: ['tag:k8s'] })).json.id;
  const theirs = (await create({ tags: ['tag:k8s'] }, {}, other)).json.id;
  const list = (path: string, as: string) => h.call<{ keys: KeyBody[] }>('GET', path, { token: as });
  const scoped = (await list('/api/v2/tailnet/-/keys', other)).json.keys;
  expect(scoped.length).toBeGreaterThan(0);
  expect(scoped.every((k) => k.keyType === 'client')).toBe(true);
  // Without oauth_keys:read the OAuth clients are not readable either: nothing at all.
  expect((await list('/api/v2/tailnet/-/keys', token)).json.keys).toEqual([]);
  const all = (await list('/api/v2/tailnet/-/keys?all=true', other)).json.keys;
  expect(all.map((k) => k.id)).toEqual(expect.arrayContaining([mine, theirs]));
  expect(all.some((k) => k.keyType === 'client')).toBe(true);
  // OAuth clients are listed only to a token that may read them.
  expect(
    (await list('/api/v2/tailnet/-/keys?all=true', token)).json.keys.map((k) => k.keyType),
  ).not.toContain('client');
});

test('without all=true a user API key lists the keys made with user credentials', async () => {
  const { token: userToken } = await h.admin.createApiKey();
  const userKey = (
    await h.call<KeyBody>('POST', '/api/v2/tailnet/-/keys', {
      token: userToken,
      body: { capabilities: { devices: {} } },
    })
  ).json.id;
  const oauthKey = (await create({ tags: ['tag:k8s'] })).json.id;
  const ids = (
    await h.call<{ keys: KeyBody[] }>('GET', '/api/v2/tailnet/-/keys', { token: userToken })
  ).json.keys.map((k) => k.id);
  expect(ids).toContain(userKey);
  expect(ids).not.toContain(oauthKey);
});
