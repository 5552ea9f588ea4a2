/**
 * Case 6: churn. A seeded random sequence of create, update and delete operations across the kinds
 * (TailscaleEndpoints with their own proxies, TailscaleProxyGroups, TailscaleServices with and without
 * an endpointTemplate), issued back to back while the proxy simulator plays every replica. Then:
 * everything still present is reconciled at its latest generation and Tailscale matches it exactly
 * (one VIP service per TailscaleServices, one device per replica); then everything is deleted and
 * nothing is left: no VIP service, device, usable auth key, Kubernetes object of ours, or running
 * resource workflow.
 *
 * FAULTS_CHURN_OPS operations (default 500: about 2 minutes on the 2-core machine, so `npm test` runs
 * all of them; timings in test/faults/README.md). FAULTS_SEED replays a failing sequence.
 *
 * Guards: every workflow's deletion path (finalizers held until devices, keys, VIP services and owned
 * objects are gone; no garbage collector here), a pass stopping when its object is gone before the
 * finalizer holds it (found by this test: objects created and deleted within a second left VIP
 * services, devices and auth keys behind), selection and auto-provisioning following label and
 * selector changes, scale-down cleanup, and the VIP workflows serializing changes to one service.
 */
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { listDevices } from '../../activities/tailscale/devices';
import { listKeys } from '../../activities/tailscale/keys';
import { listVipServices } from '../../activities/tailscale/vip-services';
import { startProxySimulator, type ProxySimulator } from '../../simulators/proxy/simulator';
import { eventually } from '../support/eventually';
import { stackInfo } from '../support/stack';
import type { Kind } from './support/kube';
import { scanWorld } from './support/secrets-scan';
import { consumersOf, seededRng, startFaultWorld, type FaultWorld, type Rng } from './support/world';

const seed = Number(process.env.FAULTS_SEED ?? 6);
const operations = Number(process.env.FAULTS_CHURN_OPS ?? 500);
const groups = ['g0', 'g1', 'g2'];

interface Live {
  kind: Kind;
  name: string;
  /** What Tailscale should hold for it while it exists. */
  replicas: number;
  group?: string;
  ports?: string[];
  tags?: string[];
  template?: boolean;
}

describe(`churn: ${operations} random operations across kinds, then nothing orphaned`, () => {
  let w: FaultWorld;
  let proxies: ProxySimulator;
  const live = new Map<string, Live>();
  const counts: Record<string, number> = {};

  beforeAll(async () => {
    w = await startFaultWorld({ prefix: 'churn' });
    proxies = startProxySimulator({ kc: w.kc, tailscale: w.tailnet.sim.admin, namespaces: [w.namespace] });
  });
  afterAll(async () => {
    await proxies?.stop();
    await w?.close();
  });

  let serial = 0;
  const fresh = (prefix: string) => `${prefix}-${(serial++).toString(36)}`;
  const of = (kind: Kind) => [...live.values()].filter((o) => o.kind === kind);

  /** One random operation that applies to the current state; returns its name for the tally. */
  const step = async (rng: Rng): Promise<string> => {
    const labels = w.operator.labels;
    const tailnet = w.tailnet.name;
    const endpoints = of('TailscaleEndpoints');
    const services = of('TailscaleServices');
    const pools = of('TailscaleProxyGroup');
    /** Flips a random one of `among` between 1 and 2 replicas. */
    const rescale = (among: Live[]) => async () => {
      const o = rng.pick(among);
      o.replicas = o.replicas === 1 ? 2 : 1;
      await w.objects.patch(o.kind, o.name, [
        { op: 'replace', path: '/spec/proxy/replicas', value: o.replicas },
      ]);
    };
    const removeOne = (among: Live[]) => async () => {
      const o = rng.pick(among);
      live.delete(o.name);
      await w.objects.delete(o.kind, o.name);
    };
    const choices: [string, number, () => Promise<void>][] = [
      [
        'create endpoints',
        endpoints.length < 6 ? 3 : 0,
        async () => {
          const o: Live = {
            kind: 'TailscaleEndpoints',
            name: fresh('ep'),
            replicas: 1 + rng.int(2),
            group: rng.pick(groups),
          };
          await w.objects.create(
            'TailscaleEndpoints',
            o.name,
            { tailnet, tags: ['tag:k8s'], proxy: { replicas: o.replicas } },
            {
              ...labels,
              app: o.group ?? '',
            },
          );
          live.set(o.name, o);
        },
      ],
      ['scale endpoints', endpoints.length ? 2 : 0, rescale(endpoints)],
      [
        'relabel endpoints',
        endpoints.length ? 2 : 0,
        async () => {
          const o = rng.pick(endpoints);
          o.group = rng.pick(groups);
          await w.objects.patch(o.kind, o.name, [
            { op: 'replace', path: '/metadata/labels/app', value: o.group },
          ]);
        },
      ],
      ['delete endpoints', endpoints.length ? 2 : 0, removeOne(endpoints)],
      [
        'create proxy group',
        pools.length < 2 ? 1 : 0,
        async () => {
          const o: Live = { kind: 'TailscaleProxyGroup', name: fresh('pg'), replicas: 1 + rng.int(2) };
          await w.objects.create(
            'TailscaleProxyGroup',
            o.name,
            {
              tailnet,
              tags: ['tag:k8s'],
              type: rng.pick(['ingress', 'egress']),
              proxy: { replicas: o.replicas },
            },
            labels,
          );
          live.set(o.name, o);
        },
      ],
      ['scale proxy group', pools.length ? 1 : 0, rescale(pools)],
      ['delete proxy group', pools.length ? 1 : 0, removeOne(pools)],
      [
        'create services',
        services.length < 10 ? 4 : 0,
        async () => {
          const template = rng.chance(0.25);
          const o: Live = {
            kind: 'TailscaleServices',
            name: fresh('svc'),
            // An auto-provisioned endpoints object has one replica of its own.
            replicas: template ? 1 : 0,
            group: template ? `tpl-${serial}` : rng.pick(groups),
            ports: ['tcp:443'],
            tags: ['tag:web'],
            template,
          };
          await w.objects.create(
            'TailscaleServices',
            o.name,
            {
              tailnet,
              selector: { matchLabels: { app: o.group ?? '' } },
              vipService: { ports: o.ports, tags: o.tags },
              ...(template ? { endpointTemplate: { replicas: 1, tags: ['tag:k8s'], labels } } : {}),
            },
            labels,
          );
          live.set(o.name, o);
        },
      ],
      [
        'update services ports',
        services.length ? 2 : 0,
        async () => {
          const o = rng.pick(services);
          o.ports = rng.pick([['tcp:443'], ['tcp:443', 'tcp:8443'], ['tcp:80']]);
          await w.objects.patch(o.kind, o.name, [
            { op: 'replace', path: '/spec/vipService/ports', value: o.ports },
          ]);
        },
      ],
      [
        'update services tags',
        services.length ? 1 : 0,
        async () => {
          const o = rng.pick(services);
          o.tags = rng.pick([['tag:web'], ['tag:web', 'tag:api']]);
          await w.objects.patch(o.kind, o.name, [
            { op: 'replace', path: '/spec/vipService/tags', value: o.tags },
          ]);
        },
      ],
      [
        'reselect services',
        services.some((s) => !s.template) ? 2 : 0,
        async () => {
          const o = rng.pick(services.filter((s) => !s.template));
          o.group = rng.pick(groups);
          await w.objects.patch(o.kind, o.name, [
            { op: 'replace', path: '/spec/selector', value: { matchLabels: { app: o.group } } },
          ]);
        },
      ],
      ['delete services', services.length ? 2 : 0, removeOne(services)],
    ];
    const total = choices.reduce((n, [, weight]) => n + weight, 0);
    let pick = rng.next() * total;
    for (const [name, weight, run] of choices) {
      if ((pick -= weight) > 0 || !weight) continue;
      await run();
      return name;
    }
    throw new Error('no applicable operation');
  };

  const core = () => w.kc.makeApiClient(CoreV1Api);

  it('converges to exactly the live objects after the churn', async () => {
    const rng = seededRng(seed);
    const started = Date.now();
    for (let i = 0; i < operations; i++) {
      const name = await step(rng);
      counts[name] = (counts[name] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, rng.int(150)));
    }
    const issuedMs = Date.now() - started;

    // Every live object reconciled at its latest generation.
    for (const o of live.values()) {
      await eventually(
        `${o.kind} ${o.name} reconciled at its latest generation`,
        async () => {
          const obj = await w.objects.get(o.kind, o.name);
          return obj && obj.status?.observedGeneration === obj.metadata.generation ? true : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 500 },
      );
    }
    // Tailscale holds exactly one VIP service per live TailscaleServices, with its spec and registry,
    // and one device per live replica (plus the seed device).
    const services = of('TailscaleServices');
    await eventually(
      'VIP services match the live TailscaleServices',
      async () => {
        const vips = await listVipServices(w.tailnet.api);
        const want = services
          .map((o) => ({
            name: `svc:${o.name}`,
            ports: o.ports,
            tags: o.tags,
            consumers: { [w.consumerKey]: [`services/${w.namespace}/${o.name}`] },
          }))
          .sort((a, b) => a.name.localeCompare(b.name));
        const got = vips
          .map((v) => ({ name: v.name, ports: v.ports, tags: v.tags, consumers: consumersOf(v) }))
          .sort((a, b) => a.name.localeCompare(b.name));
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          throw new Error(`want ${JSON.stringify(want)}; got ${JSON.stringify(got)}`);
        }
        return true;
      },
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    const replicas = [...live.values()].reduce((n, o) => n + o.replicas, 0);
    await eventually(
      `${replicas} devices for the live replicas`,
      async () => {
        const devices = await listDevices(w.tailnet.api);
        if (devices.length !== replicas + 1)
          throw new Error(`${devices.length - 1} devices: ${devices.map((d) => d.hostname).join(', ')}`);
        return true;
      },
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    process.stdout.write(
      `churn: ${operations} operations in ${issuedMs} ms, converged after ${Date.now() - started} ms; ` +
        `${live.size} live objects, ${replicas} replicas; ${JSON.stringify(counts)}\n`,
    );
  }, 1_800_000);

  it('leaves nothing behind once everything is deleted', async () => {
    const started = Date.now();
    const kinds: Kind[] = ['TailscaleServices', 'TailscaleEndpoints', 'TailscaleProxyGroup'];
    for (const kind of kinds)
      for (const o of await w.objects.list(kind)) await w.objects.delete(kind, o.metadata.name);
    live.clear();
    for (const kind of kinds) {
      await eventually(
        `no ${kind} left`,
        async () => ((await w.objects.list(kind)).length === 0 ? true : undefined),
        { timeoutMs: 600_000, intervalMs: 1000 },
      );
    }
    // Tailscale: the seed device only, no VIP service, no usable auth key.
    await eventually(
      'no VIP service left',
      async () => ((await listVipServices(w.tailnet.api)).length === 0 ? true : undefined),
      {
        timeoutMs: 120_000,
      },
    );
    expect((await listDevices(w.tailnet.api)).map((d) => d.hostname)).toEqual(['seed-device']);
    expect((await listKeys(w.tailnet.api)).filter((k) => !k.invalid).map((k) => k.description)).toEqual([]);
    // Kubernetes: nothing of ours in the namespace.
    const ns = w.namespace;
    const apps = w.kc.makeApiClient(AppsV1Api);
    const rbac = w.kc.makeApiClient(RbacAuthorizationV1Api);
    const names = (items: { metadata?: { name?: string } }[]) => items.map((i) => i.metadata?.name ?? '');
    expect(names((await apps.listNamespacedStatefulSet({ namespace: ns })).items)).toEqual([]);
    expect(names((await core().listNamespacedPod({ namespace: ns })).items)).toEqual([]);
    expect(names((await core().listNamespacedService({ namespace: ns })).items)).toEqual([]);
    expect(names((await rbac.listNamespacedRole({ namespace: ns })).items)).toEqual([]);
    expect(names((await rbac.listNamespacedRoleBinding({ namespace: ns })).items)).toEqual([]);
    expect(
      names((await core().listNamespacedServiceAccount({ namespace: ns })).items).filter(
        (n) => n !== 'default',
      ),
    ).toEqual([]);
    expect(names((await core().listNamespacedSecret({ namespace: ns })).items)).toEqual([
      `${w.tailnet.name}-oauth`,
    ]);
    // Temporal: no resource workflow of these objects still running.
    const connection = await Connection.connect({ address: stackInfo().temporalAddress });
    try {
      const client = new Client({ connection });
      const query = `TaskQueue = '${w.operator.taskQueue}' AND ExecutionStatus = 'Running'`;
      await eventually('resource workflows finished', async () => {
        const still: string[] = [];
        for await (const e of client.workflow.list({ query })) {
          if (/^(services|endpoints|proxygroup)\//.test(e.workflowId)) still.push(e.workflowId);
        }
        return still.length === 0 ? true : undefined;
      });
    } finally {
      await connection.close();
    }
    process.stdout.write(`churn: deleted everything and verified no orphan in ${Date.now() - started} ms\n`);
  }, 1_200_000);

  it('leaks no credential into its logs or workflow histories (case 8)', async () => {
    expect((await scanWorld(w)).leaks).toEqual([]);
  });
});
