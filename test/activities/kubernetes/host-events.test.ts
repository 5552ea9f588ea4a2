import { hostApprovalEvents } from '../../../activities/kubernetes/host-events';

const regarding = {
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleServices',
  namespace: 'team-a',
  name: 'web',
};
const host = (name: string, approved: boolean, approvalLevel?: string) => ({
  name,
  nodeId: `n-${name}`,
  advertising: true,
  approved,
  ...(approvalLevel ? { approvalLevel } : {}),
});

describe('hostApprovalEvents', () => {
  it('tells of each host newly approved, by name and node, once', () => {
    const before = { hosts: [host('web-0', false, 'not-approved'), host('web-1', true, 'approved:auto')] };
    const fields = {
      vipService: { name: 'svc:web' },
      hosts: [host('web-0', true, 'approved:manual'), host('web-1', true, 'approved:auto')],
    };
    expect(hostApprovalEvents(regarding, before, fields)).toEqual([
      {
        regarding,
        type: 'Normal',
        reason: 'HostApproved',
        action: 'ReadHosts',
        note: 'Tailscale approved host web-0 (node n-web-0) for VIP service svc:web (approved:manual): it now carries traffic for the service',
      },
    ]);
    // The same status published again: nothing new.
    expect(hostApprovalEvents(regarding, { hosts: fields.hosts }, fields)).toEqual([]);
  });

  it('tells of hosts approved in the first status that lists them', () => {
    const fields = { vipService: { name: 'svc:web' }, hosts: [host('web-0', true, 'approved:auto')] };
    expect(hostApprovalEvents(regarding, undefined, fields).map((n) => n.note)).toEqual([
      expect.stringContaining('host web-0 (node n-web-0)'),
    ]);
  });

  it('says nothing of hosts not approved, nor when the status has no hosts', () => {
    expect(hostApprovalEvents(regarding, {}, { hosts: [host('web-0', false)] })).toEqual([]);
    expect(hostApprovalEvents(regarding, {}, { hosts: null })).toEqual([]);
    expect(hostApprovalEvents(regarding, {}, undefined)).toEqual([]);
  });
});
