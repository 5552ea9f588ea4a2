/**
 * Issue 13, point 2: the tags a namespace may request are limited by an admin allow-list (chart value
 * proxies.allowedTags, PROXY_ALLOWED_TAGS) when no TailscaleProxyClass limits them, and a VIP service's
 * tags always are. Before the allow-list, a proxy without a class got any tag it asked for and a VIP
 * service was created with any tag (Ready=True): both cases fail on that code.
 */
import { getVipService } from '../../activities/tailscale/vip-services';
import { startFaultWorld, type FaultWorld } from './support/world';

const allowList = 'tag:k8s, tag:web';

describe('the admin allow-list of tags', () => {
  let w: FaultWorld;

  beforeAll(async () => {
    w = await startFaultWorld({ prefix: 'tags', env: { PROXY_ALLOWED_TAGS: 'tag:k8s,tag:web' } });
    await w.objects.createManualEndpoints('pool', w.tailnet.name, { app: 'pool' });
  });
  afterAll(async () => {
    await w?.close();
  });

  const services = (name: string, vipName: string, tags: string[]) =>
    w.objects.create(
      'TailscaleServices',
      name,
      {
        tailnet: w.tailnet.name,
        selector: { matchLabels: { app: 'pool' } },
        vipService: { name: vipName, ports: ['tcp:443'], tags },
      },
      w.operator.labels,
    );

  it('refuses a proxy tag outside the list when no class limits the tags', async () => {
    await w.objects.create(
      'TailscaleEndpoints',
      'prod',
      { tailnet: w.tailnet.name, tags: ['tag:k8s', 'tag:prod'], proxy: { replicas: 1 } },
      w.operator.labels,
    );
    const ready = await w.objects.waitCondition(
      'TailscaleEndpoints',
      'prod',
      'Ready',
      (c) => c.status === 'False' && c.reason === 'TagsNotPermitted',
      120_000,
    );
    expect(ready.message).toContain(`spec.tags: tag:prod not in the admin allow-list`);
    expect(ready.message).toContain(`(proxies.allowedTags: ${allowList})`);
  }, 180_000);

  it('refuses a VIP service tag outside the list, and creates nothing; a listed tag is Ready', async () => {
    await services('db', 'svc:db', ['tag:prod']);
    const vip = await w.objects.waitCondition(
      'TailscaleServices',
      'db',
      'VIPServiceReady',
      (c) => c.status === 'False' && c.reason === 'TagsNotPermitted',
      120_000,
    );
    expect(vip.message).toContain('spec.vipService.tags: tag:prod not in the admin allow-list');
    expect(vip.message).toContain(`(proxies.allowedTags: ${allowList})`);
    expect((await w.objects.condition('TailscaleServices', 'db', 'Ready'))?.reason).toBe('TagsNotPermitted');
    expect(await getVipService(w.tailnet.api, 'svc:db')).toBeNull();

    await services('web', 'svc:web', ['tag:web']);
    await w.objects.waitReady('TailscaleServices', 'web', 120_000);
    expect((await getVipService(w.tailnet.api, 'svc:web'))?.tags).toEqual(['tag:web']);
  }, 300_000);
});
