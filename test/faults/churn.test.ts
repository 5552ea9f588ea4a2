/**
 * Case 6: churn. A seeded random sequence of create, update and delete operations across the kinds
 * (TailscaleEndpoints with their own proxies, TailscaleProxyGroups, TailscaleServices with and without
 * an endpointTemplate, TailscaleGateways bound to two Gateway API Gateways and publishing labelled
 * routes as VIP services, HTTPRoutes whose backendRef is a TailscaleServices, TailscaleRoutePolicies
 * targeting those routes), issued back to back while the proxy simulator plays every replica. Then:
 * everything still present is reconciled at its latest generation and Tailscale matches it exactly
 * (one VIP service per TailscaleServices and per published route, one device per replica), each
 * TailscaleGateway maps every attached route to its backends and VIP service, and each policy has the
 * verdict Gateway API policy attachment gives it (Accepted, Conflicted with an older one, or
 * TargetNotFound); then everything is deleted and nothing is left: no VIP service, device, usable auth
 * key, Kubernetes object of ours, finalizer on the user's routes and Gateways, running resource
 * workflow, or VIP workflow still holding a local consumer.
 *
 * FAULTS_CHURN_OPS operations (default 500: about 2 minutes on the 2-core machine, so `npm test` runs
 * all of them; timings in test/faults/README.md). FAULTS_SEED replays a failing sequence.
 *
 * Guards: every workflow's deletion path (finalizers held until devices, keys, VIP services and owned
 * objects are gone; no garbage collector here), a pass stopping when its object is gone before the
 * finalizer holds it (found by this test: objects created and deleted within a second left VIP
 * services, devices and auth keys behind), selection and auto-provisioning following label and
 * selector changes (a template service's endpoints relabelled for its new selector), scale-down
 * cleanup, the VIP workflows serializing changes to one service, gateway
 * workflows joining and leaving VIP services as routes move between Gateways, gain or lose the publish
 * label and as bindings start or stop publishing (several bindings of one Gateway share one service),
 * and policy verdicts following their targets and rivals as they appear, move and go.
 */
import { isDeepStrictEqual } from 'node:util';
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { Condition } from '../../api/common';
import { listDevices } from '../../activities/tailscale/devices';
import { listKeys } from '../../activities/tailscale/keys';
import { listVipServices, type VipService } from '../../activities/tailscale/vip-services';
import { vipStateQuery } from '../../workflows/messages';
import { startProxySimulator, type ProxySimulator } from '../../simulators/proxy/simulator';
import { eventually } from '../support/eventually';
import { stackInfo } from '../support/stack';
import { group, isNotFound, type AnyObject, type Kind } from './support/kube';
import { scanWorld } from './support/secrets-scan';
import { consumersOf, seededRng, startFaultWorld, type FaultWorld, type Rng } from './support/world';
import { conditionOf } from '../support/conditions';

const seed = Number(process.env.FAULTS_SEED ?? 6);
const operations = Number(process.env.FAULTS_CHURN_OPS ?? 500);
const groups = ['g0', 'g1', 'g2'];
const gatewayApi = 'gateway.networking.k8s.io';
/** Our controllerName in a policy's status.ancestors. */
const ourController = 'gateway.tailscale.com/tailscale-gateway-operator';
/** The Gateway API Gateways bindings and routes choose from, each with one HTTP listener port. */
const gatewayPorts: Record<string, number> = { 'eg-a': 80, 'eg-b': 8080 };
const gatewayNames = Object.keys(gatewayPorts);
/** Routes carrying this label are published by the bindings that publish at all. */
const publishSelector = { matchLabels: { publish: 'yes' } };

interface Live {
  kind: Kind;
  name: string;
  /** What Tailscale should hold for it while it exists. */
  replicas: number;
  group?: string;
  ports?: string[];
  tags?: string[];
  template?: boolean;
  /** TailscaleGateway: the Gateway it binds, and whether it publishes the labelled routes. */
  gateway?: string;
  publish?: boolean;
}

/** An HTTPRoute (a user object: no operator label) attached to one Gateway, one TailscaleServices backend. */
interface LiveRoute {
  name: string;
  gateway: string;
  backend: string;
  published: boolean;
}

/** A TailscaleRoutePolicy on one route: a Deny on /admin (two on one route conflict) or a header rule. */
interface LivePolicy {
  name: string;
  target: string;
  deny: boolean;
}

describe(`churn: ${operations} random operations across kinds, then nothing orphaned`, () => {
  let w: FaultWorld;
  let proxies: ProxySimulator;
  const live = new Map<string, Live>();
  const routes = new Map<string, LiveRoute>();
  const policies = new Map<string, LivePolicy>();
  const counts: Record<string, number> = {};

  /** Gateway API objects, as a user (not the operator) writes them. */
  const gatewayApiObject = (plural: 'gateways' | 'httproutes') => ({
    group: gatewayApi,
    version: 'v1',
    namespace: w.namespace,
    plural,
  });
  const listGatewayApi = async (plural: 'gateways' | 'httproutes') =>
    ((await w.objects.api.listNamespacedCustomObject(gatewayApiObject(plural))) as { items: AnyObject[] })
      .items;
  const routeLabels = (r: LiveRoute) => ({ publish: r.published ? 'yes' : 'no' });
  const routeSpec = (r: LiveRoute) => ({
    parentRefs: [{ name: r.gateway }],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: `/${r.name}` } }],
        backendRefs: [{ group, kind: 'TailscaleServices', name: r.backend }],
      },
    ],
  });
  const policySpec = (p: LivePolicy) => ({
    targetRefs: [{ group: gatewayApi, kind: 'HTTPRoute', name: p.target }],
    rules: p.deny
      ? [{ matches: [{ path: { type: 'PathPrefix', value: '/admin' } }], action: { type: 'Deny' } }]
      : [
          {
            // A path of its own: composes with every other policy on the route.
            matches: [{ path: { type: 'PathPrefix', value: `/${p.name}` } }],
            requestHeaderModifier: { set: [{ name: 'x-churn', value: p.name }] },
          },
        ],
  });
  const publishSpec = [{ routeSelector: publishSelector, vipService: { tags: ['tag:gw'] } }];

  beforeAll(async () => {
    w = await startFaultWorld({ prefix: 'churn' });
    proxies = startProxySimulator({ kc: w.kc, tailscale: w.tailnet.sim.admin, namespaces: [w.namespace] });
    for (const [name, port] of Object.entries(gatewayPorts)) {
      await w.objects.api.createNamespacedCustomObject({
        ...gatewayApiObject('gateways'),
        body: {
          apiVersion: `${gatewayApi}/v1`,
          kind: 'Gateway',
          metadata: { name },
          spec: { gatewayClassName: 'eg', listeners: [{ name: 'http', port, protocol: 'HTTP' }] },
        },
      });
    }
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
    const bindings = of('TailscaleGateway');
    const liveRoutes = [...routes.values()];
    const livePolicies = [...policies.values()];
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
        services.length ? 2 : 0,
        async () => {
          const o = rng.pick(services);
          // A template service selects labels of its own: its endpoints follow (one replica still).
          o.group = o.template ? fresh('tpl') : rng.pick(groups);
          await w.objects.patch(o.kind, o.name, [
            { op: 'replace', path: '/spec/selector', value: { matchLabels: { app: o.group } } },
          ]);
        },
      ],
      ['delete services', services.length ? 2 : 0, removeOne(services)],
      [
        'create gateway binding',
        // Weighted towards a few of each (bindings, routes, policies), so the end state has some to check.
        bindings.length < 1 ? 2 : bindings.length < 3 ? 0.75 : 0,
        async () => {
          const o: Live = {
            kind: 'TailscaleGateway',
            name: fresh('tsgw'),
            replicas: 0,
            gateway: rng.pick(gatewayNames),
            publish: rng.chance(0.75),
          };
          await w.objects.create(
            'TailscaleGateway',
            o.name,
            {
              gatewayRef: { name: o.gateway },
              tailnets: [tailnet],
              ...(o.publish ? { publish: publishSpec } : {}),
            },
            labels,
          );
          live.set(o.name, o);
        },
      ],
      [
        'toggle gateway publishing',
        bindings.length ? 0.5 : 0,
        async () => {
          const o = rng.pick(bindings);
          o.publish = !o.publish;
          await w.objects.patch(o.kind, o.name, [
            o.publish
              ? { op: 'add', path: '/spec/publish', value: publishSpec }
              : { op: 'remove', path: '/spec/publish' },
          ]);
        },
      ],
      ['delete gateway binding', bindings.length ? 0.5 : 0, removeOne(bindings)],
      [
        'create route',
        services.length ? (liveRoutes.length < 3 ? 2.5 : liveRoutes.length < 6 ? 1 : 0) : 0,
        async () => {
          const r: LiveRoute = {
            name: fresh('rt'),
            gateway: rng.pick(gatewayNames),
            backend: rng.pick(services).name,
            published: rng.chance(0.6),
          };
          await w.objects.api.createNamespacedCustomObject({
            ...gatewayApiObject('httproutes'),
            body: {
              apiVersion: `${gatewayApi}/v1`,
              kind: 'HTTPRoute',
              metadata: { name: r.name, labels: routeLabels(r) },
              spec: routeSpec(r),
            },
          });
          routes.set(r.name, r);
        },
      ],
      [
        'retarget route',
        liveRoutes.length && services.length ? 1.5 : 0,
        async () => {
          const r = rng.pick(liveRoutes);
          // Another backend, another Gateway, or in or out of publication.
          const what = rng.int(3);
          if (what === 0) r.backend = rng.pick(services).name;
          else if (what === 1) r.gateway = gatewayNames.find((g) => g !== r.gateway) ?? r.gateway;
          else r.published = !r.published;
          await w.objects.api.patchNamespacedCustomObject({
            ...gatewayApiObject('httproutes'),
            name: r.name,
            body: [
              { op: 'replace', path: '/metadata/labels', value: routeLabels(r) },
              { op: 'replace', path: '/spec/parentRefs', value: routeSpec(r).parentRefs },
              { op: 'replace', path: '/spec/rules', value: routeSpec(r).rules },
            ],
          });
        },
      ],
      [
        'delete route',
        liveRoutes.length ? 0.75 : 0,
        async () => {
          const r = rng.pick(liveRoutes);
          routes.delete(r.name);
          await w.objects.api.deleteNamespacedCustomObject({
            ...gatewayApiObject('httproutes'),
            name: r.name,
          });
        },
      ],
      [
        'create policy',
        liveRoutes.length && livePolicies.length < 6 ? 1 : 0,
        async () => {
          const p: LivePolicy = {
            name: fresh('pol'),
            target: rng.pick(liveRoutes).name,
            deny: rng.chance(0.6),
          };
          await w.objects.create('TailscaleRoutePolicy', p.name, policySpec(p), labels);
          policies.set(p.name, p);
        },
      ],
      [
        'retarget policy',
        livePolicies.length && liveRoutes.length ? 0.75 : 0,
        async () => {
          // Mostly a policy whose route is gone, as a user would repoint it.
          const stranded = livePolicies.filter((q) => !routes.has(q.target));
          const p = rng.pick(stranded.length && rng.chance(0.75) ? stranded : livePolicies);
          p.target = rng.pick(liveRoutes).name;
          await w.objects.patch('TailscaleRoutePolicy', p.name, [
            { op: 'replace', path: '/spec/targetRefs', value: policySpec(p).targetRefs },
          ]);
        },
      ],
      [
        'delete policy',
        livePolicies.length ? 0.5 : 0,
        async () => {
          const stranded = livePolicies.filter((q) => !routes.has(q.target));
          const p = rng.pick(stranded.length && rng.chance(0.5) ? stranded : livePolicies);
          policies.delete(p.name);
          await w.objects.delete('TailscaleRoutePolicy', p.name);
        },
      ],
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

  /**
   * What the bindings publish: per VIP service, its ports (the listener of the route's Gateway) and the
   * registry routes of its consumers, one per binding of that Gateway that publishes the route.
   */
  const publishedVips = () => {
    const ns = w.namespace;
    const out = new Map<string, { ports: string[]; routes: string[] }>();
    for (const r of routes.values()) {
      if (!r.published) continue;
      for (const b of of('TailscaleGateway')) {
        if (!b.publish || b.gateway !== r.gateway) continue;
        const entry = out.get(`svc:${r.name}`) ?? { ports: [`tcp:${gatewayPorts[r.gateway]}`], routes: [] };
        entry.routes.push(`gateway/${ns}/${b.name}/HTTPRoute/${ns}/${r.name}`);
        out.set(`svc:${r.name}`, entry);
      }
    }
    return out;
  };

  /** A binding's status.routes as it should read: every route attached to its Gateway, by name. */
  const expectedGatewayRoutes = (
    binding: Live,
    vips: Map<string, VipService>,
    servicesReady: Map<string, boolean>,
  ) =>
    [...routes.values()]
      .filter((r) => r.gateway === binding.gateway)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => ({
        kind: 'HTTPRoute',
        namespace: w.namespace,
        name: r.name,
        backends: [
          servicesReady.has(r.backend)
            ? {
                kind: 'TailscaleServices',
                name: r.backend,
                vipService: `svc:${r.backend}`,
                ready: servicesReady.get(r.backend),
              }
            : { kind: 'TailscaleServices', name: r.backend, ready: false },
        ],
        ...(binding.publish && r.published
          ? {
              published: {
                tailnet: w.tailnet.name,
                vipService: `svc:${r.name}`,
                addresses: vips.get(`svc:${r.name}`)?.addrs,
                dnsName: `${r.name}.${w.tailnet.dnsSuffix}`,
              },
            }
          : {}),
      }));

  /**
   * Gateway API policy attachment on one route: a missing target is TargetNotFound; of the Deny
   * policies on a route (which all overlap), the oldest by creationTimestamp, then name, is Accepted and
   * the rest Conflicted; header policies match paths of their own and are always Accepted.
   */
  const expectedVerdict = (p: LivePolicy, objects: Map<string, AnyObject>) => {
    if (!routes.has(p.target)) return 'TargetNotFound';
    if (!p.deny) return 'Accepted';
    const age = (name: string) => Date.parse(objects.get(name)?.metadata.creationTimestamp ?? '');
    const oldest = [...policies.values()]
      .filter((q) => q.deny && q.target === p.target)
      .map((q) => q.name)
      .sort((a, b) => age(a) - age(b) || a.localeCompare(b))[0];
    return oldest === p.name ? 'Accepted' : 'Conflicted';
  };

  it('converges to exactly the live objects after the churn', async () => {
    const rng = seededRng(seed);
    const started = Date.now();
    for (let i = 0; i < operations; i++) {
      const name = await step(rng);
      counts[name] = (counts[name] ?? 0) + 1;
      // Fixed sleep: seeded pacing of the workload (0–150 ms between operations) so that changes land
      // at varied points of the operator's passes; it waits for nothing, so no event stands for it.
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
      'VIP services match the live TailscaleServices and published routes',
      async () => {
        const vips = await listVipServices(w.tailnet.api);
        const want = [
          ...services.map((o) => ({
            name: `svc:${o.name}`,
            ports: o.ports,
            tags: o.tags,
            consumers: { [w.consumerKey]: [`services/${w.namespace}/${o.name}`] },
          })),
          ...[...publishedVips()].map(([name, v]) => ({
            name,
            ports: v.ports,
            tags: ['tag:gw'],
            consumers: { [w.consumerKey]: [...v.routes].sort() },
          })),
        ].sort((a, b) => a.name.localeCompare(b.name));
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
    // Each binding maps every route attached to its Gateway to its backend (Ready as the TailscaleServices
    // is) and to the VIP service it publishes, and is Ready exactly when every backend is and it
    // publishes nothing.
    const bindings = of('TailscaleGateway');
    await eventually(
      'every TailscaleGateway maps its routes to their backends and VIP services',
      async () => {
        const vips = new Map((await listVipServices(w.tailnet.api)).map((v) => [v.name, v]));
        const servicesReady = new Map(
          (await w.objects.list('TailscaleServices')).map((s) => [
            s.metadata.name,
            conditionOf(s, 'Ready')?.status === 'True',
          ]),
        );
        for (const b of bindings) {
          const obj = await w.objects.get('TailscaleGateway', b.name);
          const want = expectedGatewayRoutes(b, vips, servicesReady);
          const got = [...((obj?.status?.routes as { name: string }[] | undefined) ?? [])].sort((x, y) =>
            x.name.localeCompare(y.name),
          );
          if (!isDeepStrictEqual(got, want)) {
            throw new Error(`${b.name}: want routes ${JSON.stringify(want)}; got ${JSON.stringify(got)}`);
          }
          // Nothing in this world advertises a gateway's published services: such a binding has a VIP
          // service without hosts, which carries no traffic (NoHosts), so it is not Ready.
          const ready = want.every((r) => r.backends.every((x) => x.ready) && !('published' in r))
            ? 'True'
            : 'False';
          const condition = conditionOf(obj, 'Ready');
          if (condition?.status !== ready || condition.observedGeneration !== obj?.metadata.generation) {
            throw new Error(`${b.name}: want Ready=${ready}; got ${JSON.stringify(condition)}`);
          }
        }
        return true;
      },
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    // Each policy: exactly our one ancestor, its target, with the verdict at the current generation.
    const verdicts: Record<string, number> = {};
    await eventually(
      'every TailscaleRoutePolicy has its verdict',
      async () => {
        const objects = new Map(
          (await w.objects.list('TailscaleRoutePolicy')).map((o) => [o.metadata.name, o]),
        );
        if (objects.size !== policies.size)
          throw new Error(`${objects.size} policies, want ${policies.size}`);
        for (const k of Object.keys(verdicts)) delete verdicts[k];
        for (const p of policies.values()) {
          const obj = objects.get(p.name);
          const want = expectedVerdict(p, objects);
          const ours = (
            (obj?.status?.ancestors as
              { ancestorRef: unknown; controllerName: string; conditions?: Condition[] }[] | undefined) ?? []
          ).filter((a) => a.controllerName === ourController);
          const accepted = ours[0]?.conditions?.find((c) => c.type === 'Accepted');
          const ref = { group: gatewayApi, kind: 'HTTPRoute', name: p.target, namespace: w.namespace };
          if (
            ours.length !== 1 ||
            !isDeepStrictEqual(ours[0]?.ancestorRef, ref) ||
            accepted?.reason !== want ||
            accepted.status !== (want === 'Accepted' ? 'True' : 'False') ||
            accepted.observedGeneration !== obj?.metadata.generation
          ) {
            throw new Error(`${p.name} on ${p.target}: want ${want}; got ${JSON.stringify(ours)}`);
          }
          verdicts[want] = (verdicts[want] ?? 0) + 1;
        }
        return true;
      },
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    process.stdout.write(
      `churn: ${operations} operations in ${issuedMs} ms, converged after ${Date.now() - started} ms; ` +
        `${live.size} live objects, ${replicas} replicas, ${bindings.length} gateway bindings, ` +
        `${routes.size} routes (${publishedVips().size} published VIP services), ${policies.size} policies ` +
        `${JSON.stringify(verdicts)}; ${JSON.stringify(counts)}\n`,
    );
  }, 1_800_000);

  it('leaves nothing behind once everything is deleted', async () => {
    const started = Date.now();
    const kinds: Kind[] = [
      'TailscaleGateway',
      'TailscaleRoutePolicy',
      'TailscaleServices',
      'TailscaleEndpoints',
      'TailscaleProxyGroup',
    ];
    for (const kind of kinds)
      for (const o of await w.objects.list(kind)) await w.objects.delete(kind, o.metadata.name);
    live.clear();
    policies.clear();
    for (const kind of kinds) {
      await eventually(
        `no ${kind} left`,
        async () => ((await w.objects.list(kind)).length === 0 ? true : undefined),
        { timeoutMs: 600_000, intervalMs: 1000 },
      );
    }
    // The user's routes and Gateways carry no finalizer of ours and go when deleted.
    for (const plural of ['httproutes', 'gateways'] as const) {
      const left = await listGatewayApi(plural);
      expect(left.filter((o) => o.metadata.finalizers?.length).map((o) => o.metadata.name)).toEqual([]);
      for (const o of left) {
        try {
          await w.objects.api.deleteNamespacedCustomObject({
            ...gatewayApiObject(plural),
            name: o.metadata.name,
          });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      await eventually(`no ${plural} left`, async () =>
        (await listGatewayApi(plural)).length === 0 ? true : undefined,
      );
    }
    routes.clear();
    // Tailscale: the seed device only, no VIP service, no usable auth key.
    await eventually(
      'no VIP service left',
      async () => ((await listVipServices(w.tailnet.api)).length === 0 ? true : undefined),
      {
        timeoutMs: 120_000,
      },
    );
    expect((await listDevices(w.tailnet.api)).map((d) => d.hostname)).toEqual(['seed-device']);
    expect(
      (await listKeys(w.tailnet.api, { all: true })).filter((k) => !k.invalid).map((k) => k.description),
    ).toEqual([]);
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
    // Nor of this namespace's proxies in the operator namespace.
    const there = {
      namespace: stackInfo().operatorNamespace,
      labelSelector: `gateway.tailscale.com/parent-namespace=${ns}`,
    };
    expect(names((await apps.listNamespacedStatefulSet(there)).items)).toEqual([]);
    expect(names((await core().listNamespacedPod(there)).items)).toEqual([]);
    expect(names((await core().listNamespacedSecret(there)).items)).toEqual([]);
    expect(names((await core().listNamespacedServiceAccount(there)).items)).toEqual([]);
    expect(names((await rbac.listNamespacedRole(there)).items)).toEqual([]);
    // Temporal: no resource workflow of these objects still running.
    const connection = await Connection.connect({ address: stackInfo().temporalAddress });
    try {
      const client = new Client({ connection });
      const query = `TaskQueue = '${w.operator.taskQueue}' AND ExecutionStatus = 'Running'`;
      await eventually('resource workflows finished', async () => {
        const still: string[] = [];
        for await (const e of client.workflow.list({ query })) {
          if (/^(services|endpoints|proxygroup|gateway|routepolicy)\//.test(e.workflowId)) {
            still.push(e.workflowId);
          } else if (e.workflowId.startsWith('vip/')) {
            // A VIP workflow may wait out its idle grace, but holds no local consumer any more.
            const { localConsumers } = await client.workflow.getHandle(e.workflowId).query(vipStateQuery);
            if (localConsumers.length) still.push(`${e.workflowId} (${localConsumers.join(', ')})`);
          }
        }
        if (still.length) throw new Error(`still running: ${still.join(', ')}`);
        return true;
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
