import type { KubeConfig } from '@kubernetes/client-node';
import { renderChart, type RenderedObject } from '../../../tools/helm';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { Discovery, serverSideApply } from './kube-requests';
import {
  canI,
  grantsOf,
  isLegacyProxiesObject,
  leastPrivilege,
  operatorNamespacePrivilege,
  operatorNamespaceSecrets,
  sorted,
  splitKey,
  type Component,
} from './rbac';

const components: Component[] = ['worker', 'watchers', 'extension'];
/** What a RoleBinding cannot grant: these stay in each component's "-cluster" ClusterRole. */
const clusterScoped = new Set(['tailscaletailnets', 'namespaces', 'tailscaleproxyclasses']);

describe('an install limited to some namespaces (watch.namespaces) holds its rights there only', () => {
  let kc: KubeConfig;
  let release: string;
  let watched: string[];
  let elsewhere: string;
  let objects: RenderedObject[];
  const accounts = new Map<Component, { namespace: string; name: string }>();
  const componentOf = (o: RenderedObject) =>
    (o.metadata.labels as Record<string, string>)['app.kubernetes.io/component'] as Component;

  beforeAll(async () => {
    kc = testKubeConfig();
    release = await createTestNamespace(kc, 'rbac-ns');
    watched = [await createTestNamespace(kc, 'team-a'), await createTestNamespace(kc, 'team-b')];
    elsewhere = await createTestNamespace(kc, 'other');
    objects = await renderChart({
      release: uniqueName('scoped').slice(0, 20),
      namespace: release,
      set: [`watch.namespaces={${watched.join(',')}}`],
    });
    const discovery = new Discovery(kc);
    for (const obj of objects) {
      if (!['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(obj.kind))
        continue;
      const res = await serverSideApply(kc, discovery, obj, { namespace: release, dryRun: false });
      if (res.status >= 300) throw new Error(`${obj.kind}/${obj.metadata.name}: ${String(res.body.message)}`);
      if (obj.kind === 'ServiceAccount')
        accounts.set(componentOf(obj), { namespace: release, name: obj.metadata.name });
    }
  });

  it.each(components)(
    'the %s is bound in each watched namespace, and cluster-wide only for cluster-scoped kinds',
    (c) => {
      const of = (kind: string) =>
        objects.filter((o) => o.kind === kind && componentOf(o) === c && !isLegacyProxiesObject(o));
      // Bindings of the table's ClusterRole; the watchers' Lease Role (release namespace) is proved in rbac.test.ts.
      expect(
        of('RoleBinding')
          .filter((o) => (o.roleRef as { kind: string }).kind === 'ClusterRole')
          .map((o) => o.metadata.namespace)
          .sort(),
      ).toEqual([...watched].sort());
      for (const binding of of('ClusterRoleBinding')) {
        const role = of('ClusterRole').find(
          (r) => r.metadata.name === (binding.roleRef as { name: string }).name,
        );
        const resources = Object.keys(grantsOf(role!)).map((key) => splitKey(key).resource);
        expect(resources.filter((r) => !clusterScoped.has(r))).toEqual([]);
      }
    },
  );

  it.each(components)("the %s's roles together grant exactly its table", (c) => {
    const union: Record<string, string[]> = {};
    for (const role of objects.filter(
      (o) => o.kind === 'ClusterRole' && componentOf(o) === c && !isLegacyProxiesObject(o),
    )) {
      for (const [key, verbs] of Object.entries(grantsOf(role))) {
        union[key] = [...new Set([...(union[key] ?? []), ...verbs])];
      }
    }
    expect(sorted(union)).toEqual(sorted(leastPrivilege[c]));
  });

  it.each(components)(
    'the API server allows the %s its table in the watched namespaces and nothing namespaced elsewhere',
    async (c) => {
      const account = accounts.get(c)!;
      const wrong: string[] = [];
      for (const [key, verbs] of Object.entries(leastPrivilege[c])) {
        const target = splitKey(key);
        for (const verb of verbs) {
          const what = `${verb} ${key}`;
          if (clusterScoped.has(target.resource)) {
            if (!(await canI(kc, account, { ...target, verb }))) wrong.push(`denied ${what}`);
            continue;
          }
          for (const namespace of watched) {
            if (!(await canI(kc, account, { ...target, verb, namespace })))
              wrong.push(`denied ${what} in ${namespace}`);
          }
          if (await canI(kc, account, { ...target, verb, namespace: elsewhere }))
            wrong.push(`allowed ${what} in an unwatched namespace`);
        }
      }
      expect(wrong).toEqual([]);
    },
  );

  it.each(['worker', 'watchers'] as const)(
    'the %s holds its proxy-object rights in the release namespace, where the proxies live, and only there',
    async (c) => {
      const account = accounts.get(c)!;
      const wrong: string[] = [];
      const table = {
        ...operatorNamespacePrivilege[c],
        ...(c === 'watchers' ? operatorNamespaceSecrets : {}),
      };
      for (const [key, verbs] of Object.entries(table)) {
        for (const verb of verbs) {
          const q = { ...splitKey(key), verb };
          if (!(await canI(kc, account, { ...q, namespace: release })))
            wrong.push(`denied ${verb} ${key} in the release namespace`);
          // Reads its table grants in the watched namespaces (a tailnet's OAuth Secret, a backend Service).
          if (c === 'worker' && leastPrivilege.worker[key]?.includes(verb)) continue;
          if (key === '/secrets' && c === 'watchers') continue; // its table lists Secrets in watched ones
          for (const namespace of [...watched, elsewhere])
            if (await canI(kc, account, { ...q, namespace }))
              wrong.push(`allowed ${verb} ${key} in ${namespace}`);
        }
      }
      expect(wrong).toEqual([]);
    },
  );
});
