import { dumpYaml, loadYaml, type KubernetesObject } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { fromClientModel, toClientModel } from '../../../activities/kubernetes/client-model';

/** Wire objects of the kinds the operator reads and writes, with the fields whose names or types convert. */
const wireObjects: KubernetesObject[] = [
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: 'pool-0',
      namespace: 'ops',
      creationTimestamp: '2026-12-06T19:52:23Z' as unknown as Date,
      labels: { zero: '01', yes: 'yes' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u', controller: true }],
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'p' } },
      serviceName: '',
      template: {
        metadata: { labels: { app: 'p' } },
        spec: {
          containers: [
            {
              name: 'tailscale',
              image: 'tailscale/tailscale:v1.102.5',
              env: [{ name: 'TS_SERVE_CONFIG', value: '/etc/tsconfig/serve.json' }],
              resources: { limits: { cpu: '100m', memory: '64Mi' } },
              securityContext: { privileged: true },
            },
          ],
        },
      },
    },
    status: { replicas: 2, readyReplicas: 1 },
  } as KubernetesObject,
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'pool-0-0-config', namespace: 'ops' },
    type: 'Opaque',
    data: { 'cap-106.hujson': Buffer.from('{"Version":"alpha0"}').toString('base64') },
  } as KubernetesObject,
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'things.example.com' },
    spec: {
      group: 'example.com',
      names: { kind: 'Thing', plural: 'things' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              'x-kubernetes-validations': [{ rule: 'self.a == 1', message: 'a is 1' }],
            },
          },
        },
      ],
    },
  } as KubernetesObject,
  {
    apiVersion: 'gateway.tailscale.com/v1alpha1',
    kind: 'TailscaleServices',
    metadata: { name: 'web', namespace: 'team' },
    spec: { 'x-unknown': 1, vipService: { ports: ['tcp:80'] } },
  } as KubernetesObject,
];

describe('client model conversion', () => {
  it.each(wireObjects.map((o) => [o.kind!, o] as const))(
    '%s converts as client-node does through YAML, both ways',
    (_kind, wire) => {
      const model = toClientModel(wire);
      const viaYaml = loadYaml<KubernetesObject>(JSON.stringify(wire));
      expect(model).toEqual(viaYaml);
      expect(model.constructor).toBe(viaYaml.constructor);
      expect(fromClientModel(model)).toEqual(parse(dumpYaml(model)));
    },
  );

  it('keeps wire names the generated models know under another name', () => {
    const crd = wireObjects[2]!;
    const back = fromClientModel<typeof crd>(toClientModel(crd));
    expect(back).toEqual(JSON.parse(JSON.stringify(crd)));
  });

  it('leaves out undefined fields, as the wire does', () => {
    const out = fromClientModel(toClientModel(wireObjects[1]!));
    expect(JSON.stringify(out)).not.toContain('undefined');
    expect(Object.values(out.metadata!)).not.toContain(undefined);
  });
});
