import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

/** The API server's own refusal message (CRD schema, CEL), or undefined when it accepted the object. */
async function rejection(create: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await create();
    return undefined;
  } catch (err) {
    const body = (err as { body?: string }).body;
    return body ? (JSON.parse(body) as { message: string }).message : String(err);
  }
}

describe('CRD schemas reject invalid specs at the API server, naming the field', () => {
  let kc: KubeConfig;
  let api: CustomObjectsApi;
  let namespace: string;

  beforeAll(async () => {
    kc = testKubeConfig();
    api = kc.makeApiClient(CustomObjectsApi);
    namespace = await createTestNamespace(kc, 'crds');
  });

  const services = (spec: Record<string, unknown>) => () =>
    api.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleServices',
        metadata: { name: uniqueName('svc') },
        spec,
      },
    });
  const endpoints = (spec: Record<string, unknown>) => () =>
    api.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleendpoints',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name: uniqueName('ep') },
        spec,
      },
    });
  const validService = {
    tailnet: 'corp',
    selector: { matchLabels: { app: 'web' } },
    vipService: { name: 'svc:web', ports: ['tcp:443'], tags: ['tag:web'] },
  };

  it('accepts a valid TailscaleServices and applies defaults', async () => {
    expect(
      await rejection(services({ ...validService, endpointTemplate: { tags: ['tag:k8s'] } })),
    ).toBeUndefined();
  });

  it.each([
    [
      'a VIP name without svc:',
      { vipService: { ...validService.vipService, name: 'web' } },
      'spec.vipService.name',
    ],
    [
      'an upper-case VIP name',
      { vipService: { ...validService.vipService, name: 'svc:Web' } },
      'spec.vipService.name',
    ],
    [
      'a bare port number',
      { vipService: { ...validService.vipService, ports: ['443'] } },
      'spec.vipService.ports[0]',
    ],
    [
      'a udp port',
      { vipService: { ...validService.vipService, ports: ['udp:53'] } },
      'spec.vipService.ports[0]',
    ],
    [
      'do-not-validate beside other ports',
      { vipService: { ...validService.vipService, ports: ['do-not-validate', 'tcp:80'] } },
      'do-not-validate',
    ],
    [
      'a tag without tag:',
      { vipService: { ...validService.vipService, tags: ['web'] } },
      'spec.vipService.tags[0]',
    ],
    ['no tags', { vipService: { ...validService.vipService, tags: [] } }, 'spec.vipService.tags'],
    [
      'a bad selector operator',
      { selector: { matchExpressions: [{ key: 'a', operator: 'Is' }] } },
      'operator',
    ],
    [
      'an endpointTemplate without matchLabels',
      { selector: { matchExpressions: [{ key: 'a', operator: 'Exists' }] }, endpointTemplate: {} },
      'endpointTemplate needs selector.matchLabels',
    ],
    ['a tailnet name that is not a DNS label', { tailnet: 'Corp_Net' }, 'spec.tailnet'],
  ])('rejects %s', async (_case, override, field) => {
    const message = await rejection(services({ ...validService, ...override }));
    expect(message).toBeDefined();
    expect(message).toContain(field);
  });

  it.each([
    ['negative replicas', { proxy: { replicas: -1 } }, 'spec.proxy.replicas'],
    ['a bad tag', { tags: ['k8s'] }, 'spec.tags[0]'],
    ['both proxy and proxyGroup', { proxy: {}, proxyGroup: 'pool' }, 'either proxy'],
    ['a port out of range', { ports: [{ port: 70000 }] }, 'spec.ports[0].port'],
  ])('rejects TailscaleEndpoints with %s', async (_case, override, field) => {
    const message = await rejection(endpoints({ tailnet: 'corp', tags: ['tag:k8s'], ...override }));
    expect(message).toBeDefined();
    expect(message).toContain(field);
  });

  const routePolicy = (rule: Record<string, unknown>) => () =>
    api.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleroutepolicies',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleRoutePolicy',
        metadata: { name: uniqueName('rp') },
        spec: {
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'web' }],
          rules: [rule],
        },
      },
    });
  const setHeader = (value: string) => ({ requestHeaderModifier: { set: [{ name: 'x-a', value }] } });
  const matchHeader = (type: string, value: string) => ({
    matches: [{ headers: [{ name: 'x-a', type, value }] }],
    action: { type: 'Deny' },
  });

  it.each([
    [
      'a header value with CR/LF',
      setHeader('a\r\nset-cookie: x=1'),
      'spec.rules[0].requestHeaderModifier.set[0].value',
    ],
    ['a header value with NUL', setHeader('a\u0000'), 'spec.rules[0].requestHeaderModifier.set[0].value'],
    [
      'a header value with trailing space',
      setHeader('a '),
      'spec.rules[0].requestHeaderModifier.set[0].value',
    ],
    [
      'an Exact header match with LF',
      matchHeader('Exact', 'a\nb'),
      'spec.rules[0].matches[0].headers[0].value',
    ],
    [
      'a redirect hostname with CR/LF',
      { action: { type: 'Redirect', redirect: { hostname: 'a\r\nb' } } },
      'hostname',
    ],
  ])('rejects a TailscaleRoutePolicy with %s', async (_case, rule, field) => {
    const message = await rejection(routePolicy(rule));
    expect(message).toBeDefined();
    expect(message).toContain(field);
  });

  it('admits header values RFC 9110 allows, and a regex header match (RE2 is checked when reconciled)', async () => {
    expect(await rejection(routePolicy(setHeader('a b\tc')))).toBeUndefined();
    expect(await rejection(routePolicy(setHeader('')))).toBeUndefined();
    expect(await rejection(routePolicy(matchHeader('RegularExpression', ' (?i)bearer .+')))).toBeUndefined();
  });

  const backend = (ports: Record<string, unknown>[]) => ({ serviceName: 'web', ports });

  it('accepts a backend that maps every VIP port, by number or name, in each mode', async () => {
    const spec = {
      ...validService,
      vipService: { ...validService.vipService, ports: ['tcp:443', 'tcp:80', 'tcp:8000-8001'] },
      backend: backend([
        { port: 443, servicePort: 'http', mode: 'https' },
        { port: 80, servicePort: 8080, mode: 'http' },
        { port: 8000, servicePort: 9000 },
      ]),
    };
    expect(await rejection(services(spec))).toBeUndefined();
    const doNotValidate = { ...validService.vipService, ports: ['do-not-validate'] };
    expect(
      await rejection(
        services({
          ...validService,
          vipService: doNotValidate,
          backend: backend([{ port: 1, servicePort: 1 }]),
        }),
      ),
    ).toBeUndefined();
  });

  it.each([
    ['an unknown mode', [{ port: 443, servicePort: 80, mode: 'udp' }], 'spec.backend.ports[0].mode'],
    [
      'a repeated VIP port',
      [
        { port: 443, servicePort: 80 },
        { port: 443, servicePort: 81 },
      ],
      'Duplicate value',
    ],
  ])('rejects a backend with %s', async (_case, ports, field) => {
    const message = await rejection(services({ ...validService, backend: backend(ports) }));
    expect(message).toBeDefined();
    expect(message).toContain(field);
  });

  const egressEndpoints = (egress: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    endpoints({ tailnet: 'corp', tags: ['tag:k8s'], ports: [{ port: 8080 }], egress, ...extra });

  it.each([
    ['a device hostname', { host: 'web-service' }],
    ['a device FQDN', { host: 'web-service.tail0622b6.ts.net' }],
    ['a tailnet IPv4', { ip: '100.64.0.7' }],
    ['a tailnet IPv6', { ip: 'fd7a:115c:a1e0::7' }],
    ['a VIP service', { service: 'svc:web' }],
  ])('accepts an egress target that is %s', async (_case, tailnetTarget) => {
    expect(
      await rejection(egressEndpoints({ tailnetTarget, ports: [{ port: 8080, targetPort: 80 }] })),
    ).toBeUndefined();
  });

  it.each([
    ['no target', {}, [{ port: 8080 }], {}, 'exactly one of host, ip or service'],
    [
      'two targets',
      { host: 'a', ip: '100.64.0.1' },
      [{ port: 8080 }],
      {},
      'exactly one of host, ip or service',
    ],
    ['a non-tailnet IP', { ip: '10.0.0.1' }, [{ port: 8080 }], {}, 'spec.egress.tailnetTarget.ip'],
    ['a service without svc:', { service: 'web' }, [{ port: 8080 }], {}, 'spec.egress.tailnetTarget.service'],
    ['a port not in spec.ports', { host: 'a' }, [{ port: 9090 }], {}, 'must be listed in spec.ports'],
    [
      'ingress-only endpoints',
      { host: 'a' },
      [{ port: 8080 }],
      { connectionType: 'ingress' },
      'egress needs connectionType',
    ],
  ])('rejects egress with %s', async (_case, tailnetTarget, ports, extra, field) => {
    const message = await rejection(egressEndpoints({ tailnetTarget, ports }, extra));
    expect(message).toBeDefined();
    expect(message).toContain(field);
  });

  it('keeps tailnet immutable', async () => {
    const name = uniqueName('immutable');
    await api.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleendpoints',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name },
        spec: { tailnet: 'a', tags: ['tag:k8s'] },
      },
    });
    const message = await rejection(() =>
      api.patchNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'tailscaleendpoints',
        name,
        body: [{ op: 'replace', path: '/spec/tailnet', value: 'b' }],
      }),
    );
    expect(message).toContain('tailnet is immutable');
  });
});
