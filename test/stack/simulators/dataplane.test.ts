import { connect } from 'node:net';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { KubeObjects, type WireObject } from '../../../activities/kubernetes/apply';
import {
  builtinProxyPodSettings,
  desiredConfigSecret,
  desiredStatefulSet,
  desiredStateSecret,
  desiredTailscaledConfig,
} from '../../../activities/specs/proxy-group';
import { TailscaleClient } from '../../../activities/tailscale/client';
import { createAuthKey } from '../../../activities/tailscale/keys';
import {
  deleteVipService,
  getVipService,
  putVipService,
  setVipServiceHostApproval,
} from '../../../activities/tailscale/vip-services';
import { proxyDeploymentOf, type ProxyDeployment } from '../../../api/v1alpha1/proxy';
import { loopbackFor } from '../../../simulators/proxy/dataplane/addresses';
import { startProxySimulator, type ProxySimulator } from '../../../simulators/proxy/simulator';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../../simulators/tailscale/server';
import { startEchoServer, type EchoServer } from '../../../tools/echo-server';
import { echoGet, tcpEcho } from '../../../tools/echo-client';
import { eventually } from '../../support/eventually';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { conditionOf, isConditionTrue } from '../../support/conditions';

/**
 * The box carries bytes (simulators/proxy/dataplane) with no operator: this test writes the proxies'
 * objects, a serve or egress ConfigMap mounted at /etc/proxies as the data-path contract has it, a
 * Service with a hand-written EndpointSlice for the echo backend, and approves hosts through the API.
 */
describe('proxy simulator data plane: VIP services and egress ports over real sockets', () => {
  const dnsSuffix = 'tail9d2.ts.net';
  const fqdn = `web.${dnsSuffix}`;
  // Backend endpoints live on 10.250.<octet>.x (loopback 127.250.<octet>.x), apart from other tests.
  const octet = 1 + Math.floor(Math.random() * 250);
  let kc: KubeConfig;
  let core: CoreV1Api;
  let objects: KubeObjects;
  let sim: TailscaleSimulator;
  let api: TailscaleClient;
  let proxies: ProxySimulator;
  let namespace: string;
  let web: EchoServer;
  let vip: string;
  let clusterIP: string;
  const closers: (() => Promise<void>)[] = [];

  const deployment = (name: string, replicas: number): ProxyDeployment =>
    proxyDeploymentOf(
      'TailscaleEndpoints',
      { name, namespace, uid: '00000000-0000-0000-0000-000000000002' },
      { tailnet: 'corp', tags: ['tag:k8s'], proxy: { replicas } },
    );
  const mintKey = async () => (await createAuthKey(api, { preauthorized: true, tags: ['tag:k8s'] })).key;
  const apply = (o: unknown) => objects.applyIfChanged(o as WireObject, undefined);

  /** The contract's ConfigMap `<sts>-proxies` and the volume, mount and env that read it. */
  const proxiesConfigMap = (sts: string, data: Record<string, string>) =>
    apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${sts}-proxies`, namespace }, data });
  const provision = async (d: ProxyDeployment, advertise: string[]) => {
    // Placed beside their parent, under its name: this test plays the operator's part itself.
    const p = { namespace: d.namespace, name: d.name };
    for (let i = 0; i < d.replicas; i++) {
      await apply(desiredStateSecret(d, p, i));
      const config = desiredTailscaledConfig(d, i, {
        authKey: await mintKey(),
        current: { AdvertiseServices: advertise },
      });
      await apply(desiredConfigSecret(d, p, i, config));
    }
    // The operator's pod template mounts the proxies ConfigMap at /etc/proxies with TS_SERVE_CONFIG and
    // TS_EGRESS_PROXIES_CONFIG_PATH set: exactly what the stand-in reads.
    await apply(desiredStatefulSet(d, p, builtinProxyPodSettings));
  };
  const pod = (name: string) => core.readNamespacedPod({ namespace, name });
  const ready = (name: string) =>
    eventually(`${name} Ready`, async () => {
      const p = await pod(name);
      return isConditionTrue(p) ? p : undefined;
    });
  const state = async (name: string) => {
    const secret = await core.readNamespacedSecret({ namespace, name });
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
  };
  const nodeIdOf = async (podName: string) =>
    eventually(`${podName} device`, async () => (await state(podName)).device_id);

  const getJson = (port: number, path: string, tls = false) =>
    echoGet({ host: loopbackFor(vip), port, path, hostHeader: fqdn, tls });
  const echo = tcpEcho;
  /** The connection's fate at the moment: refused, or accepted. */
  const refused = (host: string, port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
  const approve = async (podName: string, approved: boolean) => {
    await setVipServiceHostApproval(api, 'svc:web', await nodeIdOf(podName), approved);
    await proxies.dataPlane.sync();
  };

  beforeAll(async () => {
    kc = testKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    objects = new KubeObjects(kc, 'test');
    namespace = await createTestNamespace(kc, 'dataplane');
    sim = await startTailscaleSimulator({ dnsSuffix });
    const oauth = await sim.admin.createOAuthClient({
      scopes: ['devices:core', 'auth_keys', 'services'],
      tags: ['tag:k8s'],
    });
    api = new TailscaleClient({ clientId: oauth.id, clientSecret: oauth.secret, baseUrl: sim.url });
    proxies = startProxySimulator({
      kc,
      tailscale: sim.admin,
      namespaces: [namespace],
      dataPlanePollMs: 200,
    });

    web = await startEchoServer({ name: 'web', http: `127.250.${octet}.1:0`, tcp: `127.250.${octet}.1:0` });
    closers.push(() => web.close());
    const service = await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          ports: [
            { name: 'http', port: 80, targetPort: 'http' },
            { name: 'db', port: 5432, targetPort: 5432 },
          ],
        },
      },
    });
    clusterIP = service.spec!.clusterIP!;
    await apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace, labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [
        { name: 'http', port: Number(web.http!.split(':')[1]), protocol: 'TCP' },
        { name: 'db', port: Number(web.tcp!.split(':')[1]), protocol: 'TCP' },
      ],
      endpoints: [{ addresses: [`10.250.${octet}.1`], conditions: { ready: true } }],
    });
    await putVipService(api, {
      name: 'svc:web',
      ports: ['tcp:80', 'tcp:443', 'tcp:5432'],
      tags: ['tag:k8s'],
    });
    vip = (await getVipService(api, 'svc:web'))!.addrs[0]!;
  });

  afterAll(async () => {
    await proxies?.stop();
    for (const close of closers) await close();
    await sim?.close();
  });

  const ingress = uniqueName('ing');
  const serveConfig = (target: string) =>
    JSON.stringify({
      Services: {
        'svc:web': {
          TCP: { '80': { HTTP: true }, '443': { HTTPS: true }, '5432': { TCPForward: `${target}:5432` } },
          Web: {
            [`${fqdn}:80`]: { Handlers: { '/': { Proxy: `http://${target}:80/` } } },
            [`${fqdn}:443`]: { Handlers: { '/': { Proxy: `http://${target}:80/` } } },
          },
        },
      },
    });

  it('carries nothing for a host that is not approved; once approved, HTTP, HTTPS and raw TCP reach the backend', async () => {
    await proxiesConfigMap(ingress, { 'serve-config.json': serveConfig(clusterIP) });
    await provision(deployment(ingress, 2), ['svc:web']);
    await ready(`${ingress}-0`);
    await ready(`${ingress}-1`);
    await proxies.dataPlane.sync();
    expect(await refused(loopbackFor(vip), 80)).toBe(true);

    await approve(`${ingress}-0`, true);
    const { answer } = await getJson(80, '/hello?x=1');
    expect(answer).toMatchObject({ server: 'web', method: 'GET', path: '/hello?x=1', host: fqdn });
    expect(answer.headers).toMatchObject({ 'x-forwarded-proto': 'http', 'x-forwarded-host': fqdn });
    const secure = await getJson(443, '/secure', true);
    expect(secure.answer).toMatchObject({ server: 'web', path: '/secure', host: fqdn });
    expect(secure.answer.headers['x-forwarded-proto']).toBe('https');
    expect(secure.san).toBe(`DNS:${fqdn}`);
    expect(await echo(loopbackFor(vip), 5432, 'raw bytes')).toBe('raw bytes');
  });

  it('keeps serving when one approved host goes away; stops listening when none is left', async () => {
    await approve(`${ingress}-1`, true);
    await proxies.killReplica(namespace, ingress, 0, { restart: false });
    await proxies.idle();
    await proxies.dataPlane.sync();
    for (let i = 0; i < 4; i++) expect((await getJson(80, `/after-${i}`)).answer.server).toBe('web');

    await approve(`${ingress}-1`, false);
    expect(await refused(loopbackFor(vip), 80)).toBe(true);
    expect(await refused(loopbackFor(vip), 5432)).toBe(true);

    proxies.restartReplica(namespace, ingress, 0);
    await ready(`${ingress}-0`);
    await proxies.dataPlane.sync();
    expect((await getJson(80, '/back')).answer.path).toBe('/back');
  });

  it('egress: the pod IP matchPort reaches a tailnet device and a VIP service; the replica reports it', async () => {
    const dbHost = await sim.admin.registerDevice({ authKey: await mintKey(), hostname: 'db-host' });
    const dbIp = dbHost.addresses[0]!;
    const db = await startEchoServer({ name: 'db', tcp: `${loopbackFor(dbIp)}:5432` });
    closers.push(() => db.close());
    const egress = uniqueName('egr');
    const config = {
      [`${namespace}-db`]: {
        healthCheckEndpoint: 'http://ts-db.tailscale.svc.cluster.local:9002/healthz',
        tailnetTarget: { ip: '', fqdn: `db-host.${dnsSuffix}` },
        ports: [{ protocol: 'TCP', matchPort: 10123, targetPort: 5432 }],
      },
      [`${namespace}-web`]: {
        tailnetTarget: { ip: '', fqdn },
        ports: [{ protocol: 'TCP', matchPort: 10124, targetPort: 5432 }],
      },
    };
    await proxiesConfigMap(egress, { 'egress-services': JSON.stringify(config), 'hep-pings': '3' });
    await provision(deployment(egress, 1), []);
    const p = await ready(`${egress}-0`);
    const podIP = p.status!.podIP!;
    expect(podIP).toMatch(/^10\.244\./);

    const status = await eventually(
      'egress status',
      async () => (await state(`${egress}-0`))['egress-services'],
    );
    expect(JSON.parse(status)).toEqual({
      podIPv4: podIP,
      services: {
        [`${namespace}-db`]: {
          ports: config[`${namespace}-db`]!.ports,
          tailnetTargetIPs: [dbIp],
          tailnetTarget: { ip: '', fqdn: `db-host.${dnsSuffix}` },
        },
        [`${namespace}-web`]: {
          ports: config[`${namespace}-web`]!.ports,
          tailnetTargetIPs: [vip],
          tailnetTarget: { ip: '', fqdn },
        },
      },
    });
    expect(await echo(loopbackFor(podIP), 10123, 'to the tailnet')).toBe('to the tailnet');
    expect(await echo(loopbackFor(podIP), 10124, 'to a VIP service')).toBe('to a VIP service');

    await proxiesConfigMap(egress, { 'egress-services': '{"x":{"ports":{}}}', 'hep-pings': '3' });
    const crashed = await eventually('egress replica down', async () => {
      const message = (await pod(`${egress}-0`)).status?.containerStatuses?.[0]?.lastState?.terminated
        ?.message;
      return message?.includes('egress') ? message : undefined;
    });
    expect(crashed).toMatch(
      /cannot unmarshal object into Go struct field Config\.ports of type \[\]egressservices\.PortMap/,
    );
    await proxies.dataPlane.sync();
    expect(await refused(loopbackFor(podIP), 10123)).toBe(true);
  });

  it('a serve config containerboot would exit on fails the replica visibly; fixing it brings it back', async () => {
    await proxiesConfigMap(ingress, {
      'serve-config.json': '{"Services":{"svc:web":{"TCP":{"80":{"HTTP":"yes"}}}}}',
    });
    const crashed = await eventually('CrashLoopBackOff', async () => {
      const p = await pod(`${ingress}-0`);
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
    });
    expect(conditionOf(crashed)?.status).toBe('False');
    expect(crashed.status?.containerStatuses?.[0]?.lastState?.terminated?.message).toMatch(
      /serve proxy: failed to read serve config: .*cannot unmarshal string into Go struct field TCPPortHandler\.Services\.TCP\.HTTP of type bool/,
    );
    await proxies.dataPlane.sync();
    expect(await refused(loopbackFor(vip), 80)).toBe(true);

    await proxiesConfigMap(ingress, { 'serve-config.json': serveConfig(clusterIP) });
    await ready(`${ingress}-0`);
    await proxies.dataPlane.sync();
    expect((await getJson(80, '/fixed')).answer.path).toBe('/fixed');
  });

  it('stops listening when the VIP service is deleted', async () => {
    expect(await refused(loopbackFor(vip), 5432)).toBe(false);
    await deleteVipService(api, 'svc:web');
    await proxies.dataPlane.sync();
    expect(await refused(loopbackFor(vip), 80)).toBe(true);
    expect(await refused(loopbackFor(vip), 5432)).toBe(true);
  });
});
