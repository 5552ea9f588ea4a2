import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from '../../runtime/metrics';

export const tailscaleRequests = new Counter({
  name: 'tsgw_tailscale_api_requests_total',
  help: 'Tailscale API requests by operation (method and path template) and HTTP status (0: no answer).',
  labelNames: ['operation', 'status'] as const,
  registers: [metricsRegistry],
});

export const tailscaleRequestSeconds = new Histogram({
  name: 'tsgw_tailscale_api_request_duration_seconds',
  help: 'Tailscale API request latency by operation.',
  labelNames: ['operation'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});

export const tailscaleRateLimitWaitSeconds = new Counter({
  name: 'tsgw_tailscale_api_rate_limit_wait_seconds_total',
  help: 'Seconds of Retry-After the Tailscale API asked for on 429 answers (the operator waits them out).',
  registers: [metricsRegistry],
});

const idAfter = new Set(['tailnet', 'device', 'devices', 'keys', 'services', 'vip-services', 'users']);

/** `GET /api/v2/tailnet/{}/services/{}/devices`: a path with its identifiers replaced, so label values stay few. */
export function operationOf(method: string, path: string): string {
  const segments = path.split('?')[0]!.split('/');
  const out = segments.map((segment, i) =>
    i > 0 && idAfter.has(segments[i - 1]!) && !idAfter.has(segment) && segment !== '' ? '{}' : segment,
  );
  return `${method} ${out.join('/')}`;
}
