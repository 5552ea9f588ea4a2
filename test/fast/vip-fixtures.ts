import type { AttachResult } from '../../activities/vip/lifecycle';
import type { VipConsumerChange } from '../../workflows/messages';

/** A services object in `default` asking for `svc:<id>`'s usual spec. */
export const consumer = (id: string, requestId = 1): VipConsumerChange => ({
  consumerWorkflowId: `services/default/${id}`,
  route: `services/default/${id}`,
  requestId,
  spec: { ports: ['tcp:80'], tags: ['tag:web'] },
});

/** What attach answers when Tailscale already holds the wanted service. */
export const upToDate: AttachResult = {
  outcome: 'UpToDate',
  addresses: ['100.100.100.1'],
  consumers: 1,
  message: 'up to date',
  lostUpdates: 0,
};
