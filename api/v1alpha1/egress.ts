/**
 * Rules about a TailscaleEndpoints' spec.egress that the proxies need and that the API server does not
 * always enforce (its CEL rules are skipped for objects stored before they existed, and for objects
 * from other writers such as the file provider). Pure, so the workflow and tests share it.
 */
import type { ProxyDeployment, ProxySpecProblem } from './proxy';

export function egressSpecProblem(
  d: Pick<ProxyDeployment, 'egress' | 'ports' | 'connectionType'>,
): ProxySpecProblem | undefined {
  const egress = d.egress;
  if (!egress) return undefined;
  const target = egress.tailnetTarget ?? {};
  const set = [target.host, target.ip, target.service].filter((v) => v !== undefined && v !== '');
  if (set.length !== 1) {
    return {
      field: 'spec.egress.tailnetTarget',
      message: `spec.egress.tailnetTarget: set exactly one of host, ip or service (found ${set.length})`,
    };
  }
  if (d.connectionType === 'ingress') {
    return {
      field: 'spec.connectionType',
      message: 'spec.connectionType: egress needs connectionType egress or bidirectional, not ingress',
    };
  }
  const ports = egress.ports ?? [];
  if (!ports.length) {
    return { field: 'spec.egress.ports', message: 'spec.egress.ports: list at least one port to forward' };
  }
  const seen = new Set<number>();
  for (const [i, p] of ports.entries()) {
    if (seen.has(p.port)) {
      return {
        field: `spec.egress.ports[${i}].port`,
        message: `spec.egress.ports[${i}].port: ${p.port} is listed twice; give each egress port once`,
      };
    }
    seen.add(p.port);
    if (!d.ports.some((declared) => declared.port === p.port)) {
      return {
        field: `spec.egress.ports[${i}].port`,
        message: `spec.egress.ports[${i}].port: ${p.port} is not in spec.ports; add it there so the proxies expose it`,
      };
    }
  }
  return undefined;
}
