/** Typed auth key calls against the simulator. */
import type { TailscaleClient } from '../../../activities/tailscale/client';
import {
  createAuthKey,
  deleteKey,
  getKey,
  listKeys,
  revokeUsableKeysDescribed,
} from '../../../activities/tailscale/keys';
import { startSim, type SimHarness } from '../../simulators/tailscale/support';
import { clientFor, thrown } from './support';

let h: SimHarness;
let client: TailscaleClient;
beforeAll(async () => {
  h = await startSim();
  client = await clientFor(h, ['auth_keys'], ['tag:k8s']);
});
afterAll(() => h.close());

test('creates the proxy key the operator needs; the secret logs a device in once', async () => {
  const created = await createAuthKey(client, {
    preauthorized: true,
    tags: ['tag:k8s'],
    description: 'pg-0',
  });
  expect(created).toMatchObject({
    key: expect.stringMatching(/^tskey-auth-/) as unknown,
    invalid: false,
    description: 'pg-0',
    capabilities: { reusable: false, ephemeral: false, preauthorized: true, tags: ['tag:k8s'] },
  });
  await h.admin.registerDevice({ authKey: created.key, hostname: 'pg-0' });
  const read = await getKey(client, created.id);
  expect(read!.invalid).toBe(true);
  expect(read).not.toHaveProperty('key');
  expect((await listKeys(client, { all: true })).map((k) => k.id)).toContain(created.id);
});

test('revoke with deleteKey; a missing key reads as null / false', async () => {
  const created = await createAuthKey(client, { tags: ['tag:k8s'], reusable: true });
  expect(await deleteKey(client, created.id)).toBe(true);
  expect((await getKey(client, created.id))!.invalid).toBe(true);
  expect(await getKey(client, 'kMISSINGCNTRL')).toBeNull();
  expect(await deleteKey(client, 'kMISSINGCNTRL')).toBe(false);
});

test('an untagged key from an OAuth client is a non-retryable bad request', async () => {
  expect(await thrown(() => createAuthKey(client, {}))).toMatchObject({
    type: 'TailscaleBadRequest',
    retryable: false,
  });
});

test('revokeUsableKeysDescribed revokes a key whose creation answer was lost, which only an all=true list shows', async () => {
  const description = 'web-0 in ns 1a2b3c4d';
  // Tailscale stores the key, but the caller sees a 502: it never learns the key's ID.
  await h.admin.addFault({ kind: 'lost-response', status: 502, method: 'POST', path: '**/keys', count: 1 });
  expect(
    await thrown(() => createAuthKey(client, { preauthorized: true, tags: ['tag:k8s'], description })),
  ).toMatchObject({ status: 502 });
  const other = await createAuthKey(client, { tags: ['tag:k8s'], description: 'web-1 in ns 1a2b3c4d' });
  const spent = await createAuthKey(client, { tags: ['tag:k8s'], description });
  await h.admin.registerDevice({ authKey: spent.key, hostname: 'web-0' });

  const revoked = await revokeUsableKeysDescribed(client, description);
  expect(revoked).toHaveLength(1);
  expect(revoked).not.toContain(spent.id);
  expect(await getKey(client, revoked[0]!)).toMatchObject({
    invalid: true,
    revoked: expect.any(String) as unknown,
  });
  // Keys of other replicas are left alone; nothing usable with this description remains.
  expect((await getKey(client, other.id))!.invalid).toBe(false);
  const usable = (await listKeys(client, { all: true })).filter(
    (k) => !k.invalid && k.description === description,
  );
  expect(usable).toEqual([]);
  expect(await revokeUsableKeysDescribed(client, description)).toEqual([]);
});
