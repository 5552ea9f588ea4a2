import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { AdvertisedServicesEditor } from '../../../activities/kubernetes/advertised-services';
import { tailscaledConfigKey as key } from '../../../activities/specs/tailscaled-config';

const encode = (config: unknown) => Buffer.from(JSON.stringify(config)).toString('base64');
const servicesOf = (s: V1Secret) =>
  (JSON.parse(Buffer.from(s.data?.[key] ?? '', 'base64').toString()) as { AdvertiseServices: string[] })
    .AdvertiseServices;

/** An API server holding one Secret: replace needs the current resourceVersion (409 otherwise). */
function fakeServer(data = encode({ Version: 'alpha0', AdvertiseServices: [] })) {
  let stored: V1Secret = {
    metadata: { namespace: 'ns', name: 'pool-0-0-config', resourceVersion: '1' },
    data: { [key]: data },
  };
  const calls = { replace: 0, read: 0, conflicts: 0 };
  const conflict = () => Object.assign(new Error('conflict'), { code: 409 });
  const api = {
    replaceNamespacedSecret: async ({ body }: { body: V1Secret }) => {
      // A turn of the event loop, as a real round trip takes, so that concurrent edits interleave.
      await new Promise((r) => setImmediate(r));
      calls.replace++;
      if (body.metadata?.resourceVersion !== stored.metadata?.resourceVersion) {
        calls.conflicts++;
        throw conflict();
      }
      stored = {
        ...body,
        metadata: { ...body.metadata, resourceVersion: String(Number(stored.metadata?.resourceVersion) + 1) },
      };
      return structuredClone(stored);
    },
    readNamespacedSecret: () => {
      calls.read++;
      return Promise.resolve(structuredClone(stored));
    },
  };
  return {
    api: api as unknown as CoreV1Api,
    calls,
    get: () => structuredClone(stored),
    /** Another writer (the endpoints workflow re-rendering the config) moves the Secret on. */
    touch: () => {
      stored = {
        ...stored,
        metadata: { ...stored.metadata, resourceVersion: `${stored.metadata?.resourceVersion}x` },
      };
    },
  };
}

describe('AdvertisedServicesEditor', () => {
  it('stores every one of many concurrent edits of one Secret, in a few writes and without conflicts', async () => {
    const server = fakeServer();
    const editor = new AdvertisedServicesEditor(server.api, key);
    const snapshot = server.get();
    const names = Array.from({ length: 50 }, (_, i) => `svc:s-${String(i).padStart(2, '0')}`);
    const wrote = await Promise.all(
      names.map((serviceName) => editor.edit(snapshot, { serviceName, advertise: true })),
    );
    expect(servicesOf(server.get())).toEqual(names);
    expect(wrote.every(Boolean)).toBe(true);
    expect(server.calls.replace).toBeLessThanOrEqual(3);
    expect(server.calls.conflicts).toBe(0);

    // Withdrawals and an edit that changes nothing.
    await Promise.all([
      editor.edit(server.get(), { serviceName: 'svc:s-00', advertise: false }),
      editor.edit(server.get(), { serviceName: 'svc:s-01', advertise: false }),
    ]);
    expect(servicesOf(server.get())).toEqual(names.slice(2));
    expect(await editor.edit(server.get(), { serviceName: 'svc:s-05', advertise: true })).toBe(false);
  });

  it('re-reads and reapplies the batch when another writer moved the Secret on', async () => {
    const server = fakeServer();
    const editor = new AdvertisedServicesEditor(server.api, key);
    const stale = server.get();
    server.touch();
    expect(await editor.edit(stale, { serviceName: 'svc:a', advertise: true })).toBe(true);
    expect(servicesOf(server.get())).toEqual(['svc:a']);
    expect(server.calls.conflicts).toBe(1);
    expect(server.calls.read).toBe(1);
  });

  it('edits a config written as HuJSON (comments, trailing commas, ",}" inside a string)', async () => {
    const hujson =
      '{\n  // by hand\n  "Version": "alpha0",\n  "Hostname": "a,}",\n  "AdvertiseServices": ["svc:a",],\n}';
    const server = fakeServer(Buffer.from(hujson).toString('base64'));
    const editor = new AdvertisedServicesEditor(server.api, key);
    expect(await editor.edit(server.get(), { serviceName: 'svc:b', advertise: true })).toBe(true);
    const stored = JSON.parse(Buffer.from(server.get().data![key]!, 'base64').toString()) as unknown;
    expect(stored).toEqual({ Version: 'alpha0', Hostname: 'a,}', AdvertiseServices: ['svc:a', 'svc:b'] });
  });
});
