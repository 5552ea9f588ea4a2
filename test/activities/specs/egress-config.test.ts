import {
  allocateMatchPorts,
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
        egress: { tailnetTarget: { host: 'db' }, ports: [{ port: 5432 }] },
        matchPorts: { '5432': 10123 },
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
        matchPorts: { '9': 10002 },
      },
      {
        namespace: 'a',
        name: 'x',
        dnsSuffix: suffix,
        egress: {
          tailnetTarget: { ip: '100.64.0.7' },
          ports: [{ port: 90 }, { port: 80, targetPort: 8080 }],
        },
        matchPorts: { '80': 10000, '90': 10001 },
      },
    ]);
    expect(Object.keys(configs)).toEqual([egressConfigKey('a', 'x'), 'b-x']);
    expect(configs['a-x']!.ports).toEqual([
      { protocol: 'TCP', matchPort: 10000, targetPort: 8080 },
      { protocol: 'TCP', matchPort: 10001, targetPort: 90 },
    ]);
    expect(configs['b-x']!.healthCheckEndpoint).toBe('');
  });

  it('leaves a bare name unqualified until the MagicDNS suffix is known', () => {
    expect(egressTailnetTarget({ host: 'db' }, '')).toEqual({ ip: '', fqdn: 'db' });
    expect(egressTailnetTarget({ service: 'svc:web' }, '')).toEqual({ ip: '', fqdn: 'web' });
  });
});

describe('egress matchPort allocation', () => {
  it('gives new ports the lowest free ports in 10000-10999, unique across the set', () => {
    expect(allocateMatchPorts({ 'a-x': [443, 80], 'b-y': [80] }, {})).toEqual({
      'a-x': { '80': 10000, '443': 10001 },
      'b-y': { '80': 10002 },
    });
  });

  it('keeps every existing allocation when entries come, go or add ports', () => {
    const first = allocateMatchPorts({ 'a-x': [80], 'b-y': [80, 81] }, {});
    const next = allocateMatchPorts({ 'b-y': [81, 80, 82], 'c-z': [22] }, first);
    expect(next['b-y']).toEqual({ ...first['b-y'], '82': 10000 });
    expect(next['c-z']).toEqual({ '22': 10003 });
    expect(allocateMatchPorts({ 'b-y': [80, 81, 82], 'c-z': [22] }, next)).toEqual(next);
  });

  it('re-allocates a kept port outside the range or taken twice', () => {
    expect(
      allocateMatchPorts({ 'a-x': [80], 'b-y': [80] }, { 'a-x': { '80': 10000 }, 'b-y': { '80': 10000 } }),
    ).toEqual({ 'a-x': { '80': 10000 }, 'b-y': { '80': 10001 } });
    expect(allocateMatchPorts({ 'a-x': [80] }, { 'a-x': { '80': 80 } })).toEqual({ 'a-x': { '80': 10000 } });
  });
});
