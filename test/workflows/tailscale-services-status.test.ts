import type { Selection } from '../../activities/services';
import type { VipServiceReport } from '../../workflows/messages';
import { servicesConditions, type ServicesPass } from '../../workflows/tailscale-services-status';

const selection = (selected: number, extra: Partial<Selection> = {}): Selection =>
  ({ selected: Array.from({ length: selected }, () => ({})), wrongTailnet: [], ...extra }) as Selection;
const vip = (over: Partial<VipServiceReport> = {}): VipServiceReport => ({
  serviceName: 'svc:web',
  ackRequestId: 1,
  attached: true,
  outcome: 'Created',
  addresses: [],
  consumers: 1,
  message: 'created svc:web',
  ...over,
});
const pass = (over: Partial<ServicesPass> = {}): ServicesPass => ({
  replicas: 2,
  withheld: false,
  refused: false,
  hasTemplate: false,
  backend: 'ok',
  ...over,
});
const byType = (conditions: ReturnType<typeof servicesConditions>) =>
  Object.fromEntries(conditions.map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('TailscaleServices conditions', () => {
  it('is Ready when every other condition is True', () => {
    expect(byType(servicesConditions('svc:web', selection(1), vip(), pass()))).toEqual({
      EndpointsSelected: 'True/EndpointsSelected',
      BackendReady: 'True/BackendFound',
      VIPServiceReady: 'True/Created',
      ProxyConfigReady: 'True/Advertised',
      Ready: 'True/Ready',
    });
  });

  it.each<[string, Selection, VipServiceReport | undefined, ServicesPass, string]>([
    ['no endpoints selected', selection(0), vip(), pass(), 'NoEndpointsSelected'],
    [
      'the endpoints name taken',
      selection(0, { provisionBlocked: 'taken' }),
      vip(),
      pass(),
      'EndpointsNameTaken',
    ],
    [
      'a backend not found',
      selection(1),
      vip(),
      pass({ backend: { reason: 'BackendNotFound', message: 'x' } }),
      'BackendNotFound',
    ],
    ['no VIP reply yet', selection(1), undefined, pass(), 'Pending'],
    ['a Tailscale error', selection(1), vip({ error: 'boom' }), pass(), 'TailscaleError'],
    [
      'a VIP outcome not attached',
      selection(1),
      vip({ attached: false, outcome: 'OwnedElsewhere' }),
      pass(),
      'OwnedElsewhere',
    ],
    ['no proxy replicas', selection(1), vip(), pass({ replicas: 0 }), 'NoProxies'],
    // A refused claim names the VIP condition even though no endpoints are selected either.
    [
      'a refused claim',
      selection(0),
      vip({ attached: false, outcome: 'ClaimRefused' }),
      pass({ refused: true }),
      'ClaimRefused',
    ],
  ])('with %s, Ready is False for the first blocking reason', (_, sel, report, p, reason) => {
    const ready = servicesConditions('svc:web', sel, report, p).find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason });
  });

  it('withholds the proxy config when the backend cannot be served', () => {
    const conditions = servicesConditions(
      'svc:web',
      selection(1),
      vip(),
      pass({ backend: { reason: 'BackendNotFound', message: 'x' } }),
    );
    expect(conditions.find((c) => c.type === 'ProxyConfigReady')).toMatchObject({
      status: 'False',
      reason: 'Withheld',
      message: 'not advertised: the backend cannot be served (see BackendReady)',
    });
  });

  it('keeps this install’s owner not Ready while another install’s spec is applied', () => {
    const message = 'managed by operator c/other; this object owns svc:web in this install';
    const owner = vip({ outcome: 'SpecMismatch', ownerOperator: 'c/other', specOwner: true, message });
    const conditions = servicesConditions('svc:web', selection(1), owner, pass());
    expect(byType(conditions)).toMatchObject({
      VIPServiceReady: 'False/SpecMismatch',
      Ready: 'False/SpecMismatch',
    });
    expect(conditions.find((c) => c.type === 'Ready')?.message).toBe(message);
  });

  it('gives a VIP service refused by the tag allow-list its reason', () => {
    const refused = vip({
      attached: false,
      outcome: 'Error',
      error: 'TagsNotPermitted: spec.vipService.tags: tag:prod not in the admin allow-list',
      errorType: 'TagsNotPermitted',
    });
    expect(byType(servicesConditions('svc:web', selection(1), refused, pass()))).toMatchObject({
      VIPServiceReady: 'False/TagsNotPermitted',
      Ready: 'False/TagsNotPermitted',
    });
  });

  it('marks a sharer’s attached spec mismatch True and says so, and Attached for a joined service', () => {
    const mismatch = servicesConditions('svc:web', selection(1), vip({ outcome: 'SpecMismatch' }), pass());
    expect(byType(mismatch).VIPServiceReady).toBe('True/SpecMismatch');
    expect(byType(mismatch).Ready).toBe('True/Ready');
    const joined = servicesConditions(
      'svc:web',
      selection(1),
      vip({ outcome: 'Unchanged', consumers: 3 }),
      pass(),
    );
    expect(joined.find((c) => c.type === 'VIPServiceReady')?.message).toBe('created svc:web; 3 consumer(s)');
    expect(byType(joined).VIPServiceReady).toBe('True/Attached');
  });
});
