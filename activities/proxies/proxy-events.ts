import { apiVersion } from '../../api/common';
import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import type { EventNotice, EventSubject } from '../kubernetes/events';
import type { ProxyConfigsOutcome } from './configs';
import type { AppliedProxyObjects } from './objects';

const subjectOf = (d: ProxyDeployment): EventSubject => ({
  apiVersion,
  kind: d.kind,
  namespace: d.namespace,
  name: d.name,
  uid: d.uid,
});

const notice = (d: ProxyDeployment, reason: string, action: string, note: string): EventNotice => ({
  regarding: subjectOf(d),
  type: 'Normal',
  reason,
  action,
  note,
});

/** The proxies' StatefulSet was created or changed (a new replica count, class or image). */
export function appliedNotices(d: ProxyDeployment, applied: AppliedProxyObjects): EventNotice[] {
  const statefulSet = applied.written.find((w) => w.startsWith('StatefulSet/'));
  if (!statefulSet) return [];
  const count = `${d.replicas} ${d.replicas === 1 ? 'replica' : 'replicas'}`;
  return [notice(d, 'ProxiesApplied', 'ApplyProxies', `applied ${statefulSet} with ${count}`)];
}

/** Auth keys minted for replicas without a device; the key itself never leaves the config Secret. */
export function mintedNotices(d: ProxyDeployment, outcome: ProxyConfigsOutcome): EventNotice[] {
  return outcome.replicas
    .filter((r) => r.mintedKeyId)
    .map((r) =>
      notice(
        d,
        'AuthKeyMinted',
        'MintAuthKey',
        `minted a single-use auth key for replica ${r.ordinal}${r.reissued ? ' (reissued: its device was lost)' : ''}`,
      ),
    );
}

export function removedReplicasNotice(d: ProxyDeployment, ordinals: readonly number[]): EventNotice[] {
  if (!ordinals.length) return [];
  return [
    notice(
      d,
      'ProxiesScaledDown',
      'RemoveReplicas',
      `removed replicas ${ordinals.join(', ')}: their devices and auth keys are deleted`,
    ),
  ];
}
