import type { V1ConfigMap } from '@kubernetes/client-node';
import type { EgressStatus } from '../../../api/v1alpha1/tailscale-endpoints';
import { proxyNames } from '../../../activities/specs/proxy-group';
import {
  egressServicesKey,
  hepPingsKey,
  type EgressServiceConfigs,
} from '../../../activities/specs/egress-config';
import { endpointsWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { proxiesOf } from '../../support/proxies';
import type { ProxyParentKind } from '../../../api/v1alpha1/proxy';
import { recordHistory } from '../../support/record-history';
import { uniqueName } from '../../support/stack';
import { checkTailscaleConfig } from '../../support/tailscale-config-check';
import { proxyParents, startProxyHarness, type ProxyHarness } from './tailscale-endpoints-harness';

type WithEgress = { status?: { egress?: EgressStatus; devices?: { podIP?: string }[] } };

describe('TailscaleEndpoints egress: the proxies ConfigMap containerboot reads, and the ports Envoy targets', () => {
  let h: ProxyHarness;
  let endpoints: ReturnType<typeof proxyParents>;
  let groups: ReturnType<typeof proxyParents>;

  beforeAll(async () => {
    h = await startProxyHarness('egress');
    endpoints = proxyParents(h, 'TailscaleEndpoints');
    groups = proxyParents(h, 'TailscaleProxyGroup');
  });

  afterAll(async () => {
    await h?.close();
  });

  /** The ConfigMap named and placed as the config Secrets are (proxyPlacement, proxyNames). */
  const placed = (set: string, kind: ProxyParentKind = 'TailscaleEndpoints') =>
    proxiesOf(h.namespace, set, kind);
  const readConfigMap = (set: string, kind: ProxyParentKind = 'TailscaleEndpoints') => {
    const p = placed(set, kind);
    return h.core.readNamespacedConfigMap({ namespace: p.namespace, name: proxyNames.proxiesConfigMap(p) });
  };
  const egressOf = (cm: V1ConfigMap) =>
    JSON.parse(cm.data?.[egressServicesKey] ?? '{}') as EgressServiceConfigs;

  const matchPortsOf = (configs: EgressServiceConfigs) =>
    Object.fromEntries(
      Object.entries(configs).map(([key, c]) => [key, c.ports.map((p) => [p.targetPort, p.matchPort])]),
    );

  async function expectValid(cm: V1ConfigMap) {
    const check = await checkTailscaleConfig('egress', cm.data?.[egressServicesKey] ?? '');
    expect(check).toEqual({ ok: true, error: '' });
  }

  it('writes egress-services and hep-pings, mounts them, and keeps matchPorts across reconciles and scale', async () => {
    const name = uniqueName('db');
    await endpoints.create(name, {
      connectionType: 'egress',
      proxy: { replicas: 2 },
      ports: [{ port: 5432 }, { port: 80 }],
      egress: { tailnetTarget: { host: 'db' }, ports: [{ port: 5432 }, { port: 80, targetPort: 8080 }] },
    });
    const obj = (await endpoints.waitReady(name)) as WithEgress;

    const key = `${h.namespace}-${name}`;
    // A bare host is qualified once the tailnet's MagicDNS suffix is known (it has devices by now).
    const cm = await eventually('egress target qualified with the MagicDNS suffix', async () => {
      const live = await readConfigMap(name);
      return egressOf(live)[key]?.tailnetTarget.fqdn === `db.${h.tailnet.dnsSuffix}` ? live : undefined;
    });
    const configs = egressOf(cm);
    expect(Object.keys(configs)).toEqual([key]);
    expect(configs[key]!.tailnetTarget).toEqual({ ip: '', fqdn: `db.${h.tailnet.dnsSuffix}` });
    const ports = configs[key]!.ports;
    expect(ports.map((p) => [p.protocol, p.targetPort])).toEqual([
      ['TCP', 8080],
      ['TCP', 5432],
    ]);
    const matchPorts = ports.map((p) => p.matchPort);
    expect(new Set(matchPorts).size).toBe(2);
    for (const p of matchPorts) expect(p >= 10000 && p < 11000).toBe(true);
    expect(cm.data?.[hepPingsKey]).toBe('6');
    await expectValid(cm);

    // status.egress says where each egress port is carried; the devices say which pods are Ready.
    expect(obj.status?.egress).toEqual({
      configMap: `${placed(name).name}-proxies`,
      namespace: placed(name).namespace,
      ports: [
        { port: 80, matchPort: matchPorts[0], targetPort: 8080 },
        { port: 5432, matchPort: matchPorts[1], targetPort: 5432 },
      ],
    });
    expect(obj.status?.devices?.every((d) => /^10\.244\./.test(d.podIP ?? ''))).toBe(true);

    // The pods mount it where containerboot looks and expose the matchPorts.
    const sts = await h.apps.readNamespacedStatefulSet(placed(name));
    const pod = sts.spec!.template.spec!;
    expect(pod.volumes).toContainEqual({
      name: 'proxies',
      configMap: expect.objectContaining({ name: `${placed(name).name}-proxies`, optional: true }) as unknown,
    });
    const container = pod.containers[0]!;
    expect(container.volumeMounts).toContainEqual({
      name: 'proxies',
      mountPath: '/etc/proxies',
      readOnly: true,
    });
    expect(container.env).toContainEqual({ name: 'TS_EGRESS_PROXIES_CONFIG_PATH', value: '/etc/proxies' });
    expect(container.ports?.filter((p) => p.name?.startsWith('egress-')).map((p) => p.containerPort)).toEqual(
      [...matchPorts].sort((a, b) => a - b),
    );

    // Scale 2 → 3, then add a port: hep-pings follows replicas, no matchPort moves, the new one is new.
    await endpoints.patch(name, [{ op: 'replace', path: '/spec/proxy/replicas', value: 3 }]);
    await endpoints.waitReady(name, 2);
    const scaled = await readConfigMap(name);
    expect(scaled.data?.[hepPingsKey]).toBe('9');
    expect(matchPortsOf(egressOf(scaled))).toEqual(matchPortsOf(configs));
    await endpoints.patch(name, [
      { op: 'add', path: '/spec/ports/-', value: { port: 22 } },
      { op: 'add', path: '/spec/egress/ports/-', value: { port: 22 } },
    ]);
    const grown = (await endpoints.waitReady(name, 3)) as WithEgress;
    const grownPorts = egressOf(await readConfigMap(name))[key]!.ports;
    expect(grownPorts.filter((p) => p.targetPort !== 22)).toEqual(ports);
    const added = grownPorts.find((p) => p.targetPort === 22)!.matchPort;
    expect(matchPorts).not.toContain(added);
    expect(grown.status?.egress?.ports.find((p) => p.port === 22)?.matchPort).toBe(added);
    await expectValid(await readConfigMap(name));

    // Without spec.egress the entry and status.egress go; the ConfigMap goes with the endpoints.
    await endpoints.patch(name, [{ op: 'remove', path: '/spec/egress' }]);
    const plain = (await endpoints.waitReady(name, 4)) as WithEgress;
    expect(plain.status?.egress).toBeUndefined();
    expect((await readConfigMap(name)).data?.[egressServicesKey]).toBeUndefined();

    await recordHistory(
      'tailscale-endpoints',
      'egress',
      h.temporal.workflow.getHandle(endpointsWorkflowId(h.namespace, name)),
    );
    await endpoints.delete(name);
    await eventually('proxies ConfigMap deleted with the endpoints', async () =>
      (await readConfigMap(name).then(
        () => false,
        () => true,
      ))
        ? true
        : undefined,
    );
  }, 240_000);

  it('gives endpoints sharing a TailscaleProxyGroup distinct matchPorts in the pool ConfigMap', async () => {
    const pool = uniqueName('pool');
    await groups.create(pool, { type: 'egress', proxy: { replicas: 2 } });
    await groups.waitReady(pool);
    const [a, b] = [uniqueName('a'), uniqueName('b')];
    const spec = (ip: string) => ({
      proxyGroup: pool,
      connectionType: 'egress',
      ports: [{ port: 80 }],
      egress: { tailnetTarget: { ip }, ports: [{ port: 80 }] },
    });
    await endpoints.create(a, spec('100.64.0.10'));
    await endpoints.create(b, spec('100.64.0.11'));
    const published = async (name: string) =>
      eventually(
        `${name} publishes status.egress`,
        async () => ((await endpoints.get(name)) as WithEgress).status?.egress,
      );
    const [ea, eb] = [await published(a), await published(b)];
    expect(ea.configMap).toBe(`${placed(pool, 'TailscaleProxyGroup').name}-proxies`);
    expect(ea.ports[0]!.matchPort).not.toBe(eb.ports[0]!.matchPort);

    const cm = await readConfigMap(pool, 'TailscaleProxyGroup');
    const configs = egressOf(cm);
    expect(configs[`${h.namespace}-${a}`]).toMatchObject({
      tailnetTarget: { ip: '100.64.0.10', fqdn: '' },
      ports: [{ protocol: 'TCP', matchPort: ea.ports[0]!.matchPort, targetPort: 80 }],
    });
    expect(configs[`${h.namespace}-${b}`]?.ports[0]?.matchPort).toBe(eb.ports[0]!.matchPort);
    expect(cm.data?.[hepPingsKey]).toBe('6');
    await expectValid(cm);

    // Removing one endpoints' egress removes only its entry; the other keeps its port.
    await endpoints.patch(a, [{ op: 'remove', path: '/spec/egress' }]);
    const left = await eventually('entry of a removed', async () => {
      const now = egressOf(await readConfigMap(pool, 'TailscaleProxyGroup'));
      return now[`${h.namespace}-${a}`] ? undefined : now;
    });
    expect(Object.keys(left)).toEqual([`${h.namespace}-${b}`]);
    expect(left[`${h.namespace}-${b}`]?.ports[0]?.matchPort).toBe(eb.ports[0]!.matchPort);
    await recordHistory(
      'tailscale-endpoints',
      'egress-via-proxy-group',
      h.temporal.workflow.getHandle(endpointsWorkflowId(h.namespace, a)),
    );
    await groups.delete(pool);
  }, 240_000);

  it('refuses egress without one target or with a port twice, saying what to fix', async () => {
    const refusal = (spec: Record<string, unknown>) =>
      endpoints.create(uniqueName('bad'), { connectionType: 'egress', ports: [{ port: 80 }], ...spec }).then(
        () => 'accepted',
        (err: { body?: string; message?: string }) => String(err.body ?? err.message),
      );
    expect(await refusal({ egress: { tailnetTarget: {}, ports: [{ port: 80 }] } })).toContain(
      'set exactly one of host, ip or service',
    );
    expect(
      await refusal({ egress: { tailnetTarget: { ip: '100.64.0.1' }, ports: [{ port: 80 }, { port: 80 }] } }),
    ).toMatch(/Duplicate value/);
    expect(
      await refusal({ egress: { tailnetTarget: { ip: '100.64.0.1' }, ports: [{ port: 81 }] } }),
    ).toContain('every egress port must be listed in spec.ports');
  });
});
