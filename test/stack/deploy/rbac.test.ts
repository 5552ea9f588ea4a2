import type { KubeConfig } from '@kubernetes/client-node';
import { renderChart, type RenderedObject } from '../../../tools/helm';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { Discovery, serverSideApply } from './kube-requests';
import {
  canI,
  grantsOf,
  isLegacyProxiesObject,
  leastPrivilege,
  legacyProxiesPrivilege,
  operatorNamespacePrivilege,
  sorted,
  splitKey,
  type AccessQuery,
  type Component,
} from './rbac';

const components: Component[] = ['worker', 'watchers', 'extension'];
const writeVerbs = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const tsgw = 'gateway.tailscale.com';
const ourKinds = [
  'tailscaletailnets',
  'tailscaleservices',
  'tailscaleendpoints',
  'tailscaleproxygroups',
  'tailscalegateways',
  'tailscaleroutepolicies',
];
const everything: Omit<AccessQuery, 'verb'>[] = [
  ...ourKinds.flatMap((resource) => [
    { group: tsgw, resource },
    { group: tsgw, resource, subresource: 'status' },
  ]),
  ...['secrets', 'configmaps', 'services', 'serviceaccounts', 'pods', 'events', 'namespaces', 'nodes'].map(
    (resource) => ({ group: '', resource }),
  ),
  { group: 'apps', resource: 'statefulsets' },
  { group: 'apps', resource: 'deployments' },
  { group: 'rbac.authorization.k8s.io', resource: 'roles' },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
  { group: 'coordination.k8s.io', resource: 'leases' },
  { group: 'gateway.networking.k8s.io', resource: 'httproutes' },
];

describe("each ServiceAccount's RBAC is the least the process needs", () => {
  let kc: KubeConfig;
  let namespace: string;
  let roles: Record<Component, RenderedObject>;
  let objects: RenderedObject[];
  let accounts: Record<Component, { namespace: string; name: string }>;
  let leaseName: string;
  const describeQuery = (q: AccessQuery) =>
    `${q.verb} ${q.group || 'core'}/${q.resource}${q.subresource ? `/${q.subresource}` : ''}`;

  beforeAll(async () => {
    kc = testKubeConfig();
    namespace = await createTestNamespace(kc, 'rbac');
    objects = await renderChart({ release: uniqueName('rbac').slice(0, 20), namespace });
    const ofComponent = (kind: string, c: Component) => {
      const found = objects.find(
        (o) =>
          o.kind === kind &&
          !isLegacyProxiesObject(o) &&
          (o.metadata.labels as Record<string, string>)['app.kubernetes.io/component'] === c,
      );
      if (!found) throw new Error(`the chart renders no ${kind} for ${c}`);
      return found;
    };
    roles = Object.fromEntries(components.map((c) => [c, ofComponent('ClusterRole', c)])) as typeof roles;
    accounts = Object.fromEntries(
      components.map((c) => [c, { namespace, name: ofComponent('ServiceAccount', c).metadata.name }]),
    ) as typeof accounts;
    leaseName = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-watchers'))
      ?.metadata.name as string;
    const discovery = new Discovery(kc);
    for (const obj of objects.filter((o) =>
      ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind),
    )) {
      const res = await serverSideApply(kc, discovery, obj, { namespace, dryRun: false });
      if (res.status >= 300)
        throw new Error(`applying ${obj.kind}/${obj.metadata.name}: ${String(res.body.message)}`);
    }
  });

  it.each(components)('the %s ClusterRole grants exactly the expected table, no wildcard', (c) => {
    expect(sorted(grantsOf(roles[c]))).toEqual(sorted(leastPrivilege[c]));
    expect(JSON.stringify(roles[c])).not.toContain('"*"');
  });

  it.each(components)('the API server allows the %s everything in its table', async (c) => {
    const denied: string[] = [];
    for (const [key, verbs] of Object.entries(leastPrivilege[c])) {
      for (const verb of verbs) {
        const q = { ...splitKey(key), verb, namespace: 'any-namespace' };
        if (!(await canI(kc, accounts[c], q))) denied.push(describeQuery(q));
      }
    }
    expect(denied).toEqual([]);
  });

  it.each(['extension', 'watchers'] as const)('the %s cannot write anything', async (c) => {
    const allowed: string[] = [];
    for (const target of everything) {
      for (const verb of writeVerbs) {
        const q = { ...target, verb, namespace: 'any-namespace' };
        if (await canI(kc, accounts[c], q)) allowed.push(describeQuery(q));
      }
    }
    expect(allowed).toEqual([]);
  });

  it('the extension server cannot read Secrets or tailnets', async () => {
    for (const q of [
      { group: '', resource: 'secrets', verb: 'get' },
      { group: '', resource: 'secrets', verb: 'list' },
      { group: tsgw, resource: 'tailscaletailnets', verb: 'list' },
    ]) {
      expect([describeQuery(q), await canI(kc, accounts.extension, q)]).toEqual([describeQuery(q), false]);
    }
  });

  it('the worker writes only what its activities write', async () => {
    const allowed: string[] = [];
    for (const target of everything) {
      for (const verb of [...writeVerbs, 'escalate', 'bind']) {
        const q = { ...target, verb, namespace: 'any-namespace' };
        const key = `${q.group}/${q.resource}${q.subresource ? `/${q.subresource}` : ''}`;
        if (leastPrivilege.worker[key]?.includes(verb)) continue;
        if (await canI(kc, accounts.worker, q)) allowed.push(describeQuery(q));
      }
    }
    expect(allowed).toEqual([]);
  });

  it('the watchers may take and renew their own Lease in the release namespace, and nothing else of leases', async () => {
    const lease = { group: 'coordination.k8s.io', resource: 'leases' };
    const cases: [AccessQuery, boolean][] = [
      [{ ...lease, verb: 'create', namespace }, true],
      [{ ...lease, verb: 'get', namespace, name: leaseName }, true],
      [{ ...lease, verb: 'update', namespace, name: leaseName }, true],
      [{ ...lease, verb: 'update', namespace, name: 'kube-controller-manager' }, false],
      [{ ...lease, verb: 'delete', namespace, name: leaseName }, false],
      [{ ...lease, verb: 'list', namespace }, false],
      [{ ...lease, verb: 'create', namespace: 'any-namespace' }, false],
      [{ ...lease, verb: 'update', namespace: 'kube-system', name: leaseName }, false],
    ];
    const answers: [string, boolean][] = [];
    for (const [q, _] of cases)
      answers.push([
        `${describeQuery(q)} ${q.name ?? ''} in ${q.namespace}`,
        await canI(kc, accounts.watchers, q),
      ]);
    expect(answers).toEqual(
      cases.map(([q, want]) => [`${describeQuery(q)} ${q.name ?? ''} in ${q.namespace}`, want]),
    );
  });

  it.each(['worker', 'watchers'] as const)(
    "the %s' Role in the release namespace grants exactly its proxy objects' table",
    (c) => {
      const role = objects.find(
        (o) =>
          o.kind === 'Role' &&
          o.metadata.name.endsWith('-proxies') &&
          (o.metadata.labels as Record<string, string>)['app.kubernetes.io/component'] === c,
      );
      expect(role?.metadata.namespace).toBe(namespace);
      expect(sorted(grantsOf(role!))).toEqual(sorted(operatorNamespacePrivilege[c]));
    },
  );

  it('the worker writes proxy objects in the release namespace and cannot create, patch or delete them anywhere else', async () => {
    const answers: string[] = [];
    for (const [key, verbs] of Object.entries(operatorNamespacePrivilege.worker)) {
      for (const verb of verbs) {
        const q = { ...splitKey(key), verb, namespace };
        if (!(await canI(kc, accounts.worker, q)))
          answers.push(`denied ${describeQuery(q)} in the release namespace`);
        if (leastPrivilege.worker[key]?.includes(verb)) continue; // e.g. a tailnet's OAuth Secret, anywhere
        for (const elsewhere of ['any-namespace', 'kube-system']) {
          const there = { ...q, namespace: elsewhere };
          if (await canI(kc, accounts.worker, there))
            answers.push(`allowed ${describeQuery(q)} in ${elsewhere}`);
        }
      }
    }
    expect(answers).toEqual([]);
    // The one the issue is about, said plainly: no Secret written outside the operator namespace.
    for (const verb of ['create', 'patch', 'update', 'delete'])
      expect(
        await canI(kc, accounts.worker, { group: '', resource: 'secrets', verb, namespace: 'tenant-a' }),
      ).toBe(false);
  });

  it('worker.removeLegacyProxies=true (the upgrade opt-in) adds get and delete of proxy kinds elsewhere, never create or patch', async () => {
    expect(objects.filter(isLegacyProxiesObject)).toEqual([]); // off by default
    const release = uniqueName('rbacl').slice(0, 20);
    const on = await renderChart({ release, namespace, set: ['worker.removeLegacyProxies=true'] });
    expect(on.filter(isLegacyProxiesObject).length).toBeGreaterThan(0);
    const discovery = new Discovery(kc);
    let worker: { namespace: string; name: string } | undefined;
    for (const obj of on.filter((o) =>
      ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind),
    )) {
      const res = await serverSideApply(kc, discovery, obj, { namespace, dryRun: false });
      if (res.status >= 300)
        throw new Error(`applying ${obj.kind}/${obj.metadata.name}: ${String(res.body.message)}`);
      if (obj.kind === 'ServiceAccount' && obj.metadata.name.endsWith('-worker'))
        worker = { namespace, name: obj.metadata.name };
    }
    const answers: string[] = [];
    for (const [key, granted] of Object.entries(legacyProxiesPrivilege)) {
      for (const verb of ['get', 'delete', 'create', 'patch']) {
        const q = { ...splitKey(key), verb, namespace: 'any-namespace' };
        const want = granted.includes(verb);
        if ((await canI(kc, worker!, q)) !== want)
          answers.push(`${want ? 'denied' : 'allowed'} ${describeQuery(q)}`);
      }
    }
    expect(answers).toEqual([]);
  });
});
