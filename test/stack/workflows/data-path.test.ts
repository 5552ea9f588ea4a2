/**
 * Bytes through the whole product: the operator renders the proxies and writes their serve config from
 * a TailscaleServices' spec.backend, the proxy simulator plays tailscaled with that config (its data plane,
 * simulators/proxy/README.md), and a tailnet client's HTTP request and raw TCP stream reach a real echo
 * backend behind a Kubernetes Service, through an approved advertising host. Nothing here writes a config
 * by hand: remove the operator's serve config write and every request fails.
 */
import { setVipServiceHostApproval } from '../../../activities/tailscale/vip-services';
import {
  createEchoServices,
  servicesOf,
  startDataPath,
  vipAddressOf,
  type DataPath,
} from '../../support/data-path';
import { echoGet, tcpEcho } from '../../../tools/echo-client';
import { eventually } from '../../support/eventually';
import { uniqueName } from '../../support/stack';
import { group, version } from './tailscale-endpoints-harness';
import { conditionOf, isConditionTrue } from '../../support/conditions';

const octet = 31;

const httpGet = async (host: string, port: number, path: string) =>
  (await echoGet({ host, port, path })).answer;

describe('data path: a tailnet client reaches a cluster Service through a VIP service', () => {
  let d: DataPath;

  beforeAll(async () => {
    d = await startDataPath('datapath', octet);
  }, 120_000);

  afterAll(() => d?.close());

  const createService = (name: string, tag: string) =>
    createEchoServices(d.h, name, {
      selects: name,
      proxies: 2,
      tags: [tag],
      ports: [
        { port: 80, servicePort: 'http', mode: 'http' },
        { port: 9000, servicePort: 'raw', mode: 'tcp' },
      ],
    });

  it('carries HTTP and raw TCP to the backend once Ready, and stops after the service is deleted', async () => {
    const name = uniqueName('web');
    await createService(name, 'tag:web');
    await eventually('Ready', async () => (isConditionTrue(await servicesOf(d.h, name)) ? true : undefined), {
      timeoutMs: 120_000,
    });
    const vip = await vipAddressOf(d.h, name);

    const answer = await eventually(
      'an HTTP answer through the VIP service',
      () => httpGet(vip, 80, '/hello'),
      {
        timeoutMs: 30_000,
      },
    );
    expect(answer.server).toBe('web-backend');
    expect(answer.path).toBe('/hello');
    expect(await tcpEcho(vip, 9000, 'raw bytes through the tailnet')).toBe('raw bytes through the tailnet');

    await d.h.objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace: d.h.namespace,
      plural: 'tailscaleservices',
      name,
    });
    await eventually(
      'the VIP service refusing connections',
      async () => {
        try {
          await httpGet(vip, 80, '/after');
          return undefined;
        } catch {
          return true;
        }
      },
      { timeoutMs: 60_000 },
    );
  }, 240_000);

  it('carries nothing through a host Tailscale has not approved, and says so; approving it lets traffic flow', async () => {
    const name = uniqueName('db');
    // tag:db has no autoApprovers entry in the test tailnet's policy (test/support/tailscale.ts).
    await createService(name, 'tag:db');
    const notApproved = await eventually(
      'HostNotApproved',
      async () => {
        const ready = conditionOf(await servicesOf(d.h, name));
        return ready?.reason === 'HostNotApproved' ? ready : undefined;
      },
      { timeoutMs: 120_000 },
    );
    expect(notApproved.status).toBe('False');
    expect(notApproved.message).toContain('autoApprovers');
    const vip = await vipAddressOf(d.h, name);
    await expect(tcpEcho(vip, 9000, 'nothing')).rejects.toThrow();

    const hosts = (await servicesOf(d.h, name)).status?.hosts ?? [];
    const host = hosts.find((x) => x.advertising && x.nodeId);
    expect(host).toBeDefined();
    await setVipServiceHostApproval(d.h.tailnet.api, `svc:${name}`, host!.nodeId!, true);
    await eventually(
      'Ready once approved',
      async () => (isConditionTrue(await servicesOf(d.h, name)) ? true : undefined),
      { timeoutMs: 120_000 },
    );
    expect(
      await eventually('raw TCP through the approved host', () => tcpEcho(vip, 9000, 'approved'), {
        timeoutMs: 30_000,
      }),
    ).toBe('approved');
  }, 240_000);
});
