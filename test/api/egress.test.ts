import { egressSpecProblem } from '../../api/v1alpha1/egress';

const ports = [{ port: 5432, protocol: 'TCP' as const }];
const base = { ports, connectionType: 'egress' as const };

describe('egressSpecProblem', () => {
  it('accepts a target with declared ports, and no egress at all', () => {
    expect(
      egressSpecProblem({ ...base, egress: { tailnetTarget: { host: 'db' }, ports: [{ port: 5432 }] } }),
    ).toBe(undefined);
    expect(egressSpecProblem(base)).toBeUndefined();
  });

  it('names the field and what to do for each mistake', () => {
    expect(egressSpecProblem({ ...base, egress: { tailnetTarget: {}, ports: [{ port: 5432 }] } })).toEqual({
      field: 'spec.egress.tailnetTarget',
      message: 'spec.egress.tailnetTarget: set exactly one of host, ip or service (found 0)',
    });
    expect(
      egressSpecProblem({
        ...base,
        egress: { tailnetTarget: { host: 'db', ip: '100.64.0.1' }, ports: [{ port: 5432 }] },
      })?.field,
    ).toBe('spec.egress.tailnetTarget');
    expect(
      egressSpecProblem({
        ...base,
        egress: { tailnetTarget: { ip: '100.64.0.1' }, ports: [{ port: 5432 }, { port: 5432 }] },
      })?.message,
    ).toBe('spec.egress.ports[1].port: 5432 is listed twice; give each egress port once');
    expect(
      egressSpecProblem({ ...base, egress: { tailnetTarget: { ip: '100.64.0.1' }, ports: [{ port: 80 }] } })
        ?.message,
    ).toBe('spec.egress.ports[0].port: 80 is not in spec.ports; add it there so the proxies expose it');
    expect(
      egressSpecProblem({
        ...base,
        connectionType: 'ingress',
        egress: { tailnetTarget: { ip: '100.64.0.1' }, ports: [{ port: 5432 }] },
      })?.field,
    ).toBe('spec.connectionType');
    expect(
      egressSpecProblem({ ...base, egress: { tailnetTarget: { ip: '100.64.0.1' }, ports: [] } })?.field,
    ).toBe('spec.egress.ports');
  });
});
