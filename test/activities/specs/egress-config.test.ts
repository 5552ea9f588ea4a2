import {
  egressConfigKey,
  egressServiceConfigs,
  egressTailnetTarget,
} from '../../../activities/specs/egress-config';

const suffix = 'tail0622b6.ts.net';

describe('egress config (egressservices.Configs)', () => {
  it('writes the egress-services shape with both target keys, list ports and Kubernetes protocol', () => {
    const configs = egressServiceConfigs([
      {
        namespace: 'default',
        name: 'db',
        dnsSuffix: suffix,
        healthCheckEndpoint: 'http://ts-db-abcde.tailscale.svc.cluster.local:9002/healthz',
        egress: { tailnetTarget: { host: 'db' }, ports: [{ port: 10123, targetPort: 5432 }] },
      },
    ]);
    expect(JSON.stringify(configs)).toBe(
      '{"default-db":{"healthCheckEndpoint":"http://ts-db-abcde.tailscale.svc.cluster.local:9002/healthz",' +
        '"tailnetTarget":{"ip":"","fqdn":"db.tail0622b6.ts.net"},' +
        '"ports":[{"protocol":"TCP","matchPort":10123,"targetPort":5432}]}}',
    );
  });

  it('resolves each kind of target: FQDN as given, IP as given, service by its MagicDNS name', () => {
    expect(egressTailnetTarget({ host: 'web-service.other.ts.net.' }, suffix)).toEqual({
      ip: '',
      fqdn: 'web-service.other.ts.net',
    });
    expect(egressTailnetTarget({ ip: '100.64.0.7' }, suffix)).toEqual({ ip: '100.64.0.7', fqdn: '' });
    expect(egressTailnetTarget({ service: 'svc:web' }, `${suffix}.`)).toEqual({
      ip: '',
      fqdn: 'web.tail0622b6.ts.net',
    });
  });

  it('defaults the target port to the port, sorts ports and keys', () => {
    const configs = egressServiceConfigs([
      {
        namespace: 'b',
        name: 'x',
        dnsSuffix: suffix,
        egress: { tailnetTarget: { ip: '100.64.0.7' }, ports: [{ port: 9 }] },
      },
      {
        namespace: 'a',
        name: 'x',
        dnsSuffix: suffix,
        egress: {
          tailnetTarget: { ip: '100.64.0.7' },
          ports: [{ port: 90 }, { port: 80, targetPort: 8080 }],
        },
      },
    ]);
    expect(Object.keys(configs)).toEqual([egressConfigKey('a', 'x'), 'b-x']);
    expect(configs['a-x']!.ports).toEqual([
      { protocol: 'TCP', matchPort: 80, targetPort: 8080 },
      { protocol: 'TCP', matchPort: 90, targetPort: 90 },
    ]);
    expect(configs['b-x']!.healthCheckEndpoint).toBe('');
  });
});
