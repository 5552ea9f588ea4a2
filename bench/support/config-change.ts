/**
 * Config change → first forwarded request, on the box: a TailscaleServices whose backend is the echo
 * backend (VIP port 80 → Service port `http` as HTTP, VIP port 9000 → a Service port as TCP) is created,
 * or its port 9000 mapping is moved between the echo's raw TCP port and its HTTP port. From the apply
 * call, each leg is timestamped where it happens: the VIP service stored in the Tailscale simulator
 * (creations), the serve config in the proxies' ConfigMap, the status Ready at the new generation, and
 * the first request a client sends through the VIP that the new backend answers (probes back to back).
 */
import { isIPv4 } from 'node:net';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { ServiceBackend } from '../../api/v1alpha1/tailscale-services';
import { loopbackFor } from '../../simulators/proxy/dataplane/addresses';
import { echoBackendPorts, echoBackendService } from '../../tools/echo-backend';
import { echoGet, tcpEcho } from '../../tools/echo-client';
import type { Fixture } from './fixture';
import { createServices, servicesBody, sleep } from './objects';
import type { ServeConfigWatch } from './serve-configs';

/** Where VIP port 9000 goes: the echo's raw TCP port, or its HTTP port (still forwarded as TCP). */
export type TcpTarget = keyof typeof echoBackendPorts;

export const backendOf = (tcpTarget: TcpTarget): ServiceBackend => ({
  serviceName: echoBackendService,
  ports: [
    { port: 80, servicePort: 'http', mode: 'http' },
    { port: 9000, servicePort: tcpTarget, mode: 'tcp' },
  ],
});

export interface ChangeSample {
  kind: 'create' | 'move';
  name: string;
  /** ms from the apply call; `tailscale` only for creations (a move writes nothing there). */
  tailscale?: number;
  serveConfig: number;
  status: number;
  forwarded: number;
  /** Probes that got no answer from the backend (for a move, from neither the old nor the new target). */
  failedProbes: number;
}

export interface ChangeContext {
  fixture: Fixture;
  serveConfigs: ServeConfigWatch;
  probeIntervalMs: number;
  timeoutMs: number;
}

/** Probes until `probe` resolves to something `accept` takes; the time of that answer and the failures. */
async function firstForwarded<T>(
  probe: () => Promise<T>,
  accept: (answer: T) => boolean,
  ctx: ChangeContext,
  what: string,
): Promise<{ at: number; failures: number }> {
  const deadline = performance.now() + ctx.timeoutMs;
  let failures = 0;
  for (;;) {
    try {
      if (accept(await probe())) return { at: performance.now(), failures };
    } catch {
      failures++;
    }
    if (performance.now() > deadline) throw new Error(`no request reached ${what} in ${ctx.timeoutMs} ms`);
    await sleep(ctx.probeIntervalMs);
  }
}

/** The loopback address of `svc:<name>`'s VIP once stored, and the legs of its creation. */
export async function createService(
  ctx: ChangeContext,
  name: string,
  pool: string,
): Promise<{ sample: ChangeSample; vip: string }> {
  const { fixture, timeoutMs } = ctx;
  const service = `svc:${name}`;
  const wrote = fixture.tailnet.nextWrite(service, (r) => r.addrs.some((a) => isIPv4(a)), timeoutMs);
  const served = ctx.serveConfigs.next(service, (e) => e.TCP?.['9000'] !== undefined, timeoutMs);
  served.catch(() => undefined);
  const t0 = performance.now();
  await createServices(
    fixture.stack.kc,
    fixture.namespace,
    [
      servicesBody({
        name,
        tailnet: fixture.tailnet.name,
        pool,
        labels: fixture.operator.labels,
        ports: [80, 9000],
        backend: backendOf('raw'),
      }),
    ],
    1,
  );
  const write = await wrote;
  const vip = loopbackFor(write.record.addrs.find((a) => isIPv4(a))!);
  const path = `/create/${name}`;
  const first = await firstForwarded(
    () => echoGet({ host: vip, port: 80, path }),
    ({ answer }) => answer.server === echoBackendService && answer.path === path,
    ctx,
    `${service} on port 80`,
  );
  const [serveAt] = await Promise.all([served, fixture.tracker.waitReady(name, 1, timeoutMs)]);
  return {
    vip,
    sample: {
      kind: 'create',
      name,
      tailscale: write.at - t0,
      serveConfig: serveAt - t0,
      status: fixture.tracker.readyAt.get(name)!.at - t0,
      forwarded: first.at - t0,
      failedProbes: first.failures,
    },
  };
}

/** What answered a raw HTTP/1.0 request sent to VIP port 9000: the echo's TCP port or its HTTP port. */
function answeredBy(request: string, reply: string): TcpTarget | undefined {
  if (reply === request) return 'raw';
  if (reply.startsWith('HTTP/1.1 200')) return 'http';
  return undefined;
}

/** Moves `name`'s VIP port 9000 to `to` (its `generation`-th spec) and times the legs. */
export async function moveTcpPort(
  ctx: ChangeContext,
  name: string,
  vip: string,
  to: TcpTarget,
  generation: number,
): Promise<ChangeSample> {
  const { fixture, timeoutMs } = ctx;
  const served = ctx.serveConfigs.next(
    `svc:${name}`,
    (e) => e.TCP?.['9000']?.TCPForward?.endsWith(`:${echoBackendPorts[to]}`) ?? false,
    timeoutMs,
  );
  served.catch(() => undefined);
  const t0 = performance.now();
  await fixture.stack.kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject({
    group: 'gateway.tailscale.com',
    version: 'v1alpha1',
    namespace: fixture.namespace,
    plural: 'tailscaleservices',
    name,
    body: [{ op: 'replace', path: '/spec/backend', value: backendOf(to) }],
  });
  let failures = 0;
  const request = `GET /move/${generation} HTTP/1.0\r\nHost: bench\r\n\r\n`;
  const first = await firstForwarded(
    () => tcpEcho(vip, 9000, request),
    (reply) => {
      const by = answeredBy(request, reply);
      if (by === undefined) failures++;
      return by === to;
    },
    ctx,
    `${name} port 9000 moved to ${to}`,
  );
  const [serveAt] = await Promise.all([served, fixture.tracker.waitReady(name, generation, timeoutMs)]);
  return {
    kind: 'move',
    name,
    serveConfig: serveAt - t0,
    status: fixture.tracker.readyAt.get(name)!.at - t0,
    forwarded: first.at - t0,
    failedProbes: first.failures + failures,
  };
}
