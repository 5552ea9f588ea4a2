import { operationOf } from '../../../activities/tailscale/metrics';

describe('operationOf', () => {
  it('replaces the identifiers in a Tailscale API path so metric labels stay few', () => {
    expect(operationOf('GET', '/api/v2/tailnet/-/devices')).toBe('GET /api/v2/tailnet/{}/devices');
    expect(operationOf('PUT', '/api/v2/tailnet/example.com/vip-services/svc:web')).toBe(
      'PUT /api/v2/tailnet/{}/vip-services/{}',
    );
    expect(operationOf('POST', '/api/v2/tailnet/-/services/svc:web/device/n123/approved')).toBe(
      'POST /api/v2/tailnet/{}/services/{}/device/{}/approved',
    );
    expect(operationOf('DELETE', '/api/v2/device/12345?x=1')).toBe('DELETE /api/v2/device/{}');
    expect(operationOf('DELETE', '/api/v2/tailnet/-/keys/kAbc')).toBe('DELETE /api/v2/tailnet/{}/keys/{}');
  });
});
