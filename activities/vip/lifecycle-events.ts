import { apiVersion } from '../../api/common';
import type { EventNotice, EventSubject } from '../kubernetes/events';
import type { AttachResult } from './lifecycle';

const attachReasons: Partial<Record<AttachResult['outcome'], string>> = {
  Created: 'VIPServiceCreated',
  Attached: 'VIPServiceAttached',
  Updated: 'VIPServiceUpdated',
};

/**
 * The object behind a consumer route: `services/<ns>/<name>` is a TailscaleServices,
 * `gateway/<ns>/<name>/...` a TailscaleGateway that publishes routes as the service.
 */
export function subjectOfRoute(route: string): EventSubject | undefined {
  const [prefix, namespace, name] = route.split('/');
  const kind =
    prefix === 'services' ? 'TailscaleServices' : prefix === 'gateway' ? 'TailscaleGateway' : undefined;
  if (!kind || !namespace || !name) return undefined;
  return { apiVersion, kind, namespace, name };
}

/** A Normal Event on each local consumer when its VIP service was created, joined or rewritten. */
export function attachNotices(
  serviceName: string,
  routes: readonly string[],
  result: AttachResult,
): EventNotice[] {
  const reason = attachReasons[result.outcome];
  if (!reason) return [];
  const subjects = routes.map(subjectOfRoute).filter((s): s is EventSubject => s !== undefined);
  const unique = new Map(subjects.map((s) => [`${s.kind}/${s.namespace}/${s.name}`, s]));
  return [...unique.values()].map((regarding) => ({
    regarding,
    type: 'Normal',
    reason,
    action: 'AttachVIPService',
    note: `${serviceName}: ${result.message}`,
  }));
}
