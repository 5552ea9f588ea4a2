import { proxyDeploymentOf, proxySpecProblem, type ProxyDeployment } from '../../../api/v1alpha1/proxy';
import { isSubsetOf } from '../../../activities/kubernetes/subset';
import {
  desiredConfigSecret,
  emptyProxiesConfigMap,
  desiredRole,
  desiredRoleBinding,
  desiredService,
  desiredServiceAccount,
  desiredStatefulSet,
  desiredStateSecret,
  desiredTailscaledConfig,
  proxyLabels,
  proxyPlacement,
  builtinProxyPodSettings,
  type ProxyPodSettings,
} from '../../../activities/specs/proxy-group';
import { parseTailscaledConfig, tailscaledConfigKey } from '../../../activities/specs/tailscaled-config';
import { loadTailscaledConfig } from '../../../simulators/proxy/conffile';

const endpoints = (spec: Record<string, unknown> = {}, name = 'web'): ProxyDeployment =>
  proxyDeploymentOf(
    'TailscaleEndpoints',
    { name, namespace: 'apps', uid: 'uid-1' },
    { tailnet: 'corp', tags: ['tag:k8s'], ...spec },
  );

/** A placement named like the parent keeps the expected names short; proxyPlacement has its own tests. */
const p = { namespace: 'tailscale-gateway', name: 'web' };

describe('proxyDeploymentOf', () => {
  it('applies the defaults the API server only applies when spec.proxy is present', () => {
    expect(endpoints()).toEqual({
      kind: 'TailscaleEndpoints',
      name: 'web',
      namespace: 'apps',
      uid: 'uid-1',
      tailnet: 'corp',
      tags: ['tag:k8s'],
      replicas: 2,
      hostnamePrefix: 'web',
      connectionType: 'bidirectional',
      ports: [],
    });
  });

  it('takes a proxy group type as its connection type and defaults port protocols to TCP', () => {
    const pg = proxyDeploymentOf(
      'TailscaleProxyGroup',
      { name: 'pool' },
      { tailnet: 'corp', tags: ['tag:k8s'], type: 'egress' },
    );
    expect(pg.connectionType).toBe('egress');
    expect(endpoints({ ports: [{ port: 53, protocol: 'UDP' }, { port: 80 }] }).ports).toEqual([
      { port: 53, protocol: 'UDP' },
      { port: 80, protocol: 'TCP' },
    ]);
  });
});

describe('proxySpecProblem', () => {
  it.each([
    ['a name too long for pod names', endpoints({}, `n${'x'.repeat(52)}`), 'metadata.name'],
    ['a name with dots', endpoints({}, 'web.internal'), 'metadata.name'],
    ['a Service name starting with a digit', endpoints({ ports: [{ port: 80 }] }, '1web'), 'metadata.name'],
    [
      'two ports with one name',
      endpoints({
        ports: [
          { port: 80, name: 'web' },
          { port: 81, name: 'web' },
        ],
      }),
      'spec.ports[1].name',
    ],
    [
      'a declared name equal to a default one',
      endpoints({ ports: [{ port: 80 }, { port: 81, name: 'tcp-80' }] }),
      'spec.ports[1].name',
    ],
  ])('names the field for %s', (_, deployment, field) => {
    const problem = proxySpecProblem(deployment);
    expect(problem?.field).toBe(field);
    expect(problem?.message.startsWith(field)).toBe(true);
  });

  it('accepts a plain spec, and a digit-first name without ports', () => {
    expect(proxySpecProblem(endpoints({ ports: [{ port: 80 }, { port: 443 }] }))).toBeUndefined();
    expect(proxySpecProblem(endpoints({}, '1web'))).toBeUndefined();
  });
});

describe('proxyPlacement', () => {
  const of = (kind: 'TailscaleEndpoints' | 'TailscaleProxyGroup', namespace: string, name: string) =>
    proxyPlacement({ kind, namespace, name }, 'tailscale-gateway');

  it('puts every parent in the operator namespace under a readable, deterministic name', () => {
    const web = of('TailscaleEndpoints', 'apps', 'web');
    expect(web).toEqual(of('TailscaleEndpoints', 'apps', 'web'));
    expect(web.namespace).toBe('tailscale-gateway');
    expect(web.name).toMatch(/^apps-web-[0-9a-f]{8}$/);
  });

  it('never gives two parents one name: across namespaces, kinds, and dash splits', () => {
    const names = [
      of('TailscaleEndpoints', 'a-b', 'c'),
      of('TailscaleEndpoints', 'a', 'b-c'),
      of('TailscaleProxyGroup', 'a', 'b-c'),
      of('TailscaleEndpoints', 'team-b', 'web'),
    ].map((x) => x.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('stays a DNS-1035 label short enough for pod names and revision labels (52)', () => {
    for (const [namespace, name] of [
      ['n'.repeat(63), 'x'.repeat(63)],
      ['1team', 'web'],
      ['apps', 'web.example.com'],
    ]) {
      const placed = of('TailscaleEndpoints', namespace!, name!).name;
      expect(placed.length).toBeLessThanOrEqual(52);
      expect(placed).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    }
  });
});

describe('desired objects', () => {
  const d = endpoints({
    proxy: { replicas: 2 },
    ports: [
      { name: 'http', port: 80 },
      { port: 53, protocol: 'UDP' },
    ],
  });
  const classPod: ProxyPodSettings = {
    className: 'edge',
    networking: 'userspace',
    image: 'tailscale/tailscale:v1.88.1',
    resources: { limits: { memory: '64Mi' } },
    nodeSelector: { pool: 'edge' },
    tolerations: [{ key: 'edge', operator: 'Exists' }],
    affinity: { nodeAffinity: {} },
    labels: { team: 'edge', 'app.kubernetes.io/name': 'not-ours' },
    annotations: { 'example.com/a': 'b' },
  };
  const labels = {
    'app.kubernetes.io/managed-by': 'tailscale-gateway-operator',
    'app.kubernetes.io/name': 'tailscale-proxy',
    'app.kubernetes.io/instance': 'web',
    'gateway.tailscale.com/parent-kind': 'endpoints',
    'gateway.tailscale.com/parent-namespace': 'apps',
    'gateway.tailscale.com/parent-name': 'web',
    'gateway.tailscale.com/parent-uid': 'uid-1',
  };

  it('puts every object in the operator namespace, labelled with its parent (no ownerReference can cross namespaces)', () => {
    expect(proxyLabels(d, p)).toEqual(labels);
    for (const obj of [
      desiredServiceAccount(d, p),
      desiredRole(d, p),
      desiredRoleBinding(d, p),
      desiredStatefulSet(d, p, classPod),
      desiredService(d, p)!,
    ]) {
      expect(obj.metadata).toEqual({ name: 'web', namespace: 'tailscale-gateway', labels });
    }
    expect(
      proxyLabels(
        proxyDeploymentOf('TailscaleProxyGroup', { name: 'pool' }, { tailnet: 'corp', tags: ['tag:k8s'] }),
        p,
      ),
    ).toMatchObject({
      'gateway.tailscale.com/parent-kind': 'proxygroup',
    });
  });

  it('lets proxies touch only their own state Secrets, and never all Secrets when there are no replicas', () => {
    expect(desiredRole(d, p).rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        verbs: ['get', 'patch', 'update'],
        resourceNames: ['web-0', 'web-1'],
      },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch', 'get'] },
    ]);
    expect(desiredRole({ ...d, replicas: 0 }, p).rules).toEqual([
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch', 'get'] },
    ]);
    expect(desiredRoleBinding(d, p)).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'web' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'tailscale-gateway' }],
    });
  });

  it('pre-creates state Secrets without data, so applying them never touches what the proxy wrote', () => {
    const secret = desiredStateSecret(d, p, 1);
    expect(secret.metadata?.name).toBe('web-1');
    expect(secret.metadata?.labels).toEqual({
      ...labels,
      'gateway.tailscale.com/secret-type': 'state',
      'gateway.tailscale.com/replica': '1',
    });
    expect(secret).not.toHaveProperty('data');
  });

  it('builds the StatefulSet with the ProxyGroup env and volume conventions and the pod settings of the class', () => {
    const sts = desiredStatefulSet(d, p, classPod);
    expect(sts.spec?.replicas).toBe(2);
    expect(sts.spec?.selector.matchLabels).toEqual({
      'gateway.tailscale.com/parent-kind': 'endpoints',
      'gateway.tailscale.com/parent-namespace': 'apps',
      'gateway.tailscale.com/parent-name': 'web',
    });
    const pod = sts.spec!.template.spec!;
    expect(pod.serviceAccountName).toBe('web');
    expect(pod.nodeSelector).toEqual({ pool: 'edge' });
    expect(pod.tolerations).toEqual([{ key: 'edge', operator: 'Exists' }]);
    expect(pod.affinity).toEqual({ nodeAffinity: {} });
    expect(sts.spec!.template.metadata).toEqual({
      labels: { ...labels, team: 'edge' },
      annotations: { 'example.com/a': 'b' },
    });
    const container = pod.containers[0]!;
    expect(container.image).toBe('tailscale/tailscale:v1.88.1');
    expect(container.resources).toEqual({ limits: { memory: '64Mi' } });
    expect(container.env?.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath])).toEqual([
      ['POD_NAME', 'metadata.name'],
      ['POD_UID', 'metadata.uid'],
      ['POD_IP', 'status.podIP'],
      ['TS_USERSPACE', 'true'],
      ['TS_KUBE_SECRET', '$(POD_NAME)'],
      ['TS_STATE', 'kube:$(POD_NAME)'],
      ['TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR', '/etc/tsconfig/$(POD_NAME)'],
      // The proxy set's ConfigMap, as Tailscale's ProxyGroup pods read it (always set; a missing file is nothing to do).
      ['TS_SERVE_CONFIG', '/etc/proxies/serve-config.json'],
      ['TS_EGRESS_PROXIES_CONFIG_PATH', '/etc/proxies'],
    ]);
    expect(container.volumeMounts).toEqual([
      { name: 'tailscaledconfig-0', mountPath: '/etc/tsconfig/web-0', readOnly: true },
      { name: 'tailscaledconfig-1', mountPath: '/etc/tsconfig/web-1', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'proxies', mountPath: '/etc/proxies', readOnly: true },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'tailscaledconfig-0', secret: { secretName: 'web-0-config' } },
      { name: 'tailscaledconfig-1', secret: { secretName: 'web-1-config' } },
      { name: 'tmp', emptyDir: {} },
      { name: 'proxies', configMap: { name: 'web-proxies', optional: true } },
    ]);
    // Labelled for the parent, with no data: server-side apply never touches the keys the writers own.
    expect(emptyProxiesConfigMap(d, p)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: expect.objectContaining({ name: 'web-proxies', namespace: p.namespace }) as unknown,
    });
    // Deterministic: the same parent renders the same pod template (a change would roll the pods).
    expect(desiredStatefulSet(d, p, classPod)).toEqual(sts);
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 80, protocol: 'TCP' },
      { name: 'udp-53', containerPort: 53, protocol: 'UDP' },
    ]);
  });

  it('exposes each egress matchPort as a container port after the declared ports', () => {
    const container = desiredStatefulSet(d, p, classPod, [10001, 10000]).spec!.template.spec!.containers[0]!;
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 80, protocol: 'TCP' },
      { name: 'udp-53', containerPort: 53, protocol: 'UDP' },
      { name: 'egress-10000', containerPort: 10000, protocol: 'TCP' },
      { name: 'egress-10001', containerPort: 10001, protocol: 'TCP' },
    ]);
  });

  it('runs an unprivileged userspace proxy by default, as Pod Security "restricted" requires', () => {
    const pod = desiredStatefulSet(d, p, builtinProxyPodSettings).spec!.template.spec!;
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod).not.toHaveProperty('initContainers');
    const container = pod.containers[0]!;
    expect(container.image).toBe('tailscale/tailscale:stable');
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.env).toContainEqual({ name: 'TS_USERSPACE', value: 'true' });
  });

  it('runs privileged kernel networking only when the class says so', () => {
    const pod = desiredStatefulSet(d, p, { ...classPod, networking: 'kernel' }).spec!.template.spec!;
    expect(pod.containers[0]!.securityContext).toEqual({ privileged: true });
    expect(pod.containers[0]!.env).toContainEqual({ name: 'TS_USERSPACE', value: 'false' });
    expect(pod.initContainers).toEqual([
      expect.objectContaining({ name: 'sysctler', securityContext: { privileged: true } }),
    ]);
  });

  it('leaves optional pod knobs out when the class has none', () => {
    const pod = desiredStatefulSet(endpoints(), p, builtinProxyPodSettings).spec!.template.spec!;
    expect(pod).not.toHaveProperty('nodeSelector');
    expect(pod).not.toHaveProperty('tolerations');
    expect(pod).not.toHaveProperty('affinity');
    expect(pod.containers[0]).not.toHaveProperty('resources');
    expect(pod.containers[0]).not.toHaveProperty('ports');
  });

  it('gives each declared port a port on a headless Service governing the pods, and builds none without ports', () => {
    expect(desiredStatefulSet(d, p, builtinProxyPodSettings).spec?.serviceName).toBe('web');
    expect(desiredService(d, p)?.spec).toEqual({
      type: 'ClusterIP',
      clusterIP: 'None',
      selector: {
        'gateway.tailscale.com/parent-kind': 'endpoints',
        'gateway.tailscale.com/parent-namespace': 'apps',
        'gateway.tailscale.com/parent-name': 'web',
      },
      ports: [
        { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' },
        { name: 'udp-53', port: 53, targetPort: 53, protocol: 'UDP' },
      ],
    });
    expect(desiredService(endpoints(), p)).toBeUndefined();
    expect(desiredStatefulSet(endpoints(), p, builtinProxyPodSettings).spec?.serviceName).toBeUndefined();
  });
});

describe('tailscaled config', () => {
  const d = endpoints({ proxy: { hostnamePrefix: 'edge' } });

  it('carries the auth key only when given one, and the replica hostname', () => {
    expect(desiredTailscaledConfig(d, 1, { authKey: 'tskey-auth-x' })).toEqual({
      Version: 'alpha0',
      Locked: false,
      Hostname: 'edge-1',
      acceptDNS: false,
      AuthKey: 'tskey-auth-x',
    });
    expect(desiredTailscaledConfig(d, 1, {})).not.toHaveProperty('AuthKey');
  });

  it('preserves AdvertiseServices from the current config and never invents it', () => {
    const current = {
      Version: 'alpha0',
      Hostname: 'old',
      AdvertiseServices: ['svc:web'],
      AuthKey: 'tskey-auth-old',
    };
    expect(desiredTailscaledConfig(d, 0, { current })).toEqual({
      Version: 'alpha0',
      Locked: false,
      Hostname: 'edge-0',
      acceptDNS: false,
      AdvertiseServices: ['svc:web'],
    });
    expect(desiredTailscaledConfig(d, 0, { current: { AdvertiseServices: [] } }).AdvertiseServices).toEqual(
      [],
    );
    expect(desiredTailscaledConfig(d, 0, { current: { AdvertiseServices: 'svc:web' } })).not.toHaveProperty(
      'AdvertiseServices',
    );
  });

  it('stores the config as JSON under cap-106.hujson, and reads HuJSON back', () => {
    const config = desiredTailscaledConfig(d, 0, { authKey: 'tskey-auth-x' });
    const secret = desiredConfigSecret(d, p, 0, config);
    expect(secret.metadata?.name).toBe('web-0-config');
    expect(secret.metadata?.labels?.['gateway.tailscale.com/secret-type']).toBe('config');
    const text = Buffer.from(secret.data![tailscaledConfigKey]!, 'base64').toString();
    expect(parseTailscaledConfig(text)).toEqual(config);
    expect(
      parseTailscaledConfig(
        '{\n  // written by hand\n  "Hostname": "a//b", /* note */\n  "AdvertiseServices": ["svc:x",],\n}',
      ),
    ).toEqual({ Hostname: 'a//b', AdvertiseServices: ['svc:x'] });
    // A string holding what looks like a trailing comma is data, not syntax.
    expect(parseTailscaledConfig('{"Hostname": "a,}", "AdvertiseServices": ["x,]"]}')).toEqual({
      Hostname: 'a,}',
      AdvertiseServices: ['x,]'],
    });
    expect(parseTailscaledConfig('')).toBeUndefined();
    expect(parseTailscaledConfig('[1]')).toBeUndefined();
    expect(parseTailscaledConfig('{not json')).toBeUndefined();
  });
});

describe('tailscaled config as tailscaled loads it', () => {
  const d = endpoints();
  const written = (opts: Parameters<typeof desiredTailscaledConfig>[2]) =>
    Buffer.from(
      desiredConfigSecret(d, p, 0, desiredTailscaledConfig(d, 0, opts)).data![tailscaledConfigKey]!,
      'base64',
    ).toString();

  it('writes Locked and acceptDNS as JSON booleans, which opt.Bool requires (a string "false" is refused)', () => {
    for (const opts of [{ authKey: 'tskey-auth-x' }, { current: { AdvertiseServices: ['svc:web'] } }]) {
      const loaded = loadTailscaledConfig('/etc/tsconfig/web-0/cap-106.hujson', written(opts));
      expect(loaded.Locked).toBe(false);
      expect(loaded.acceptDNS).toBe(false);
    }
  });
});

describe('isSubsetOf (the "already applied?" check)', () => {
  it('ignores fields the server added, but not a changed or missing field we set', () => {
    const desired = {
      metadata: { labels: { a: 'b' } },
      spec: { replicas: 2, env: [{ name: 'A', value: '1' }] },
    };
    const live = {
      metadata: { labels: { a: 'b' }, resourceVersion: '7' },
      spec: { replicas: 2, revisionHistoryLimit: 10, env: [{ name: 'A', value: '1' }] },
    };
    expect(isSubsetOf(desired, live)).toBe(true);
    expect(isSubsetOf(desired, { ...live, spec: { ...live.spec, replicas: 3 } })).toBe(false);
    expect(isSubsetOf(desired, { ...live, metadata: { labels: {} } })).toBe(false);
  });

  it('compares lists item by item and by length', () => {
    expect(isSubsetOf([{ a: 1 }], [{ a: 1, b: 2 }])).toBe(true);
    expect(isSubsetOf([{ a: 1 }], [{ a: 1 }, { a: 2 }])).toBe(false);
    expect(isSubsetOf([], [])).toBe(true);
    expect(isSubsetOf({ port: 80 }, { port: '80' })).toBe(true);
  });
});
