import { finalizerName } from '../../api/common';
import type { TailscaleServicesSpec } from '../../api/v1alpha1/tailscale-services';
import type { ObjectSnapshot } from '../../workflows/types';

/** TailscaleServices default/web, selecting app=web for svc:web on tailnet corp; our finalizer is held. */
export const webServices: ObjectSnapshot<TailscaleServicesSpec> = {
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'uid-web',
    generation: 1,
    resourceVersion: '1',
    finalizers: [finalizerName],
  },
  spec: {
    tailnet: 'corp',
    selector: { matchLabels: { app: 'web' } },
    vipService: { ports: ['tcp:80'], tags: ['tag:web'] },
  },
};
