import { activitySummary, hostsText, resourceDetails, vipServiceDetails } from '../../workflows/ui-summary';

const host = (name: string, advertising: boolean, approved: boolean, approvalLevel?: string) => ({
  name,
  nodeId: `n-${name}`,
  advertising,
  approved,
  tags: ['tag:k8s'],
  ...(approvalLevel ? { approvalLevel } : {}),
});

describe('activitySummary', () => {
  it.each([
    [
      'patchStatus',
      {
        resource: { kind: 'TailscaleServices' },
        namespace: 'team-a',
        name: 'web',
        conditions: [{ type: 'Ready', status: 'False', reason: 'HostNotApproved', message: 'm' }],
      },
      'publish status of TailscaleServices team-a/web: Ready=False HostNotApproved',
    ],
    [
      'setAdvertisedServices',
      {
        namespace: 'team-a',
        serviceName: 'svc:web',
        advertiseOn: ['a', 'b'],
        withdrawFrom: ['c'],
        serve: null,
      },
      'advertise svc:web on [a, b], withdraw from [c], remove its serve config',
    ],
    [
      'signalVipService',
      { tailnet: 'corp', serviceName: 'svc:web', requestId: 4, remove: true },
      'leave svc:web on tailnet corp (request 4)',
    ],
    // No specific text: the activity's words and the object its input names.
    ['checkTailnetCredentials', { name: 'corp' }, 'check tailnet credentials corp'],
    [
      'cleanupAutoProvisionedEndpoints',
      { namespace: 'team-a' },
      'cleanup auto provisioned endpoints namespace team-a',
    ],
    ['sweeperSettings', undefined, 'sweeper settings'],
  ])('%s', (activity, input, summary) => {
    expect(activitySummary(activity, [input])).toBe(summary);
  });

  it('stays one short line', () => {
    const summary = activitySummary('attachVipService', [
      {
        tailnet: 'corp',
        serviceName: 'svc:web',
        routes: Array.from({ length: 50 }, (_, i) => `services/ns/o${i}`),
      },
    ]);
    expect(summary).toHaveLength(200);
    expect(summary.endsWith('...')).toBe(true);
  });
});

describe('current details', () => {
  it('names each host with its approval', () => {
    expect(
      hostsText([
        host('p-0', true, true, 'approved:auto'),
        host('p-1', true, false),
        host('p-2', false, false),
      ]),
    ).toBe('p-0 approved (approved:auto), p-1 not approved, p-2 not advertising');
    expect(hostsText(undefined)).toBe('not read');
  });

  it('says what a resource workflow waits for, and when', () => {
    // Workflow time: the SDK's deterministic Date; a fixed clock here.
    jest.useFakeTimers({ now: new Date('2026-12-06T04:00:00Z') });
    const details = resourceDetails(
      { kind: 'TailscaleEndpoints', namespace: 'team-a', name: 'web' },
      { phase: 'Waiting', reconciles: 3, observedGeneration: 2, lastError: 'boom' },
      60_000,
    );
    expect(details).toContain('**TailscaleEndpoints team-a/web**: Waiting, 3 pass(es), generation 2\n');
    expect(details).toContain('- Last error: boom\n');
    jest.useRealTimers();
    expect(details).toContain('- Next check: re-check at 2026-12-06T04:01:00.000Z');
  });

  it('says why a VIP service workflow wakes next', () => {
    const base = {
      tailnet: 'corp',
      serviceName: 'svc:web',
      consumers: ['services/team-a/web'],
      last: undefined,
      nextCheckMs: 5000,
      failures: 0,
      settling: false,
      pollHosts: false,
    };
    expect(vipServiceDetails({ ...base, pollHosts: true })).toContain(
      '- Next check: look for an approved host at',
    );
    expect(vipServiceDetails({ ...base, failures: 2 })).toContain(
      '- Next check: retry after 2 failure(s) at',
    );
    expect(vipServiceDetails({ ...base, nextCheckMs: undefined })).toContain(
      "- Next check: a consumer's change (Tailscale refused the name)",
    );
    expect(vipServiceDetails({ ...base, consumers: [] })).toContain('finish unless a consumer joins');
  });
});
