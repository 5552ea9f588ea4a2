import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../../simulators/tailscale/server';
import { tailnetWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { startOperator, type TestOperator } from '../../support/operator';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { operatorScopes } from '../../support/tailscale';

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: OtlpAttribute[];
  service: string;
}

/** An OTLP/HTTP JSON receiver (the /v1/traces body the OpenTelemetry JS exporter sends). */
function startOtlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans?: {
            resource?: { attributes?: OtlpAttribute[] };
            scopeSpans?: { spans?: Omit<ReceivedSpan, 'service'>[] }[];
          }[];
        };
        for (const rs of body.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
          for (const ss of rs.scopeSpans ?? []) {
            for (const span of ss.spans ?? []) spans.push({ ...span, service: String(service) });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        spans,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

const attribute = (span: ReceivedSpan, key: string) => span.attributes.find((a) => a.key === key)?.value;

describe('traces: one change, one trace from the watcher through the workflow to the Tailscale and Kubernetes APIs', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let sim: TailscaleSimulator;
  let operator: TestOperator;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    sim = await startTailscaleSimulator({ dnsSuffix: 'tail7a3c.ts.net' });
    operator = startOperator({
      instance: uniqueName('traces'),
      env: {
        TAILSCALE_API_BASE_URL: sim.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await sim?.close();
    await receiver?.close();
  });

  it('links watcher signal → workflow → activity → Tailscale and Kubernetes requests, with no secret in any attribute', async () => {
    const kc = testKubeConfig();
    const namespace = await createTestNamespace(kc, 'traces');
    const name = uniqueName('traced');
    const oauth = await sim.admin.createOAuthClient({ scopes: operatorScopes, tags: ['tag:k8s'] });
    await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace,
      body: { metadata: { name }, stringData: { client_id: oauth.id, client_secret: oauth.secret } },
    });
    const objects = kc.makeApiClient(CustomObjectsApi);
    const tailnets = { group: 'gateway.tailscale.com', version: 'v1alpha1', plural: 'tailscaletailnets' };
    await objects.createClusterCustomObject({
      ...tailnets,
      body: {
        apiVersion: 'gateway.tailscale.com/v1alpha1',
        kind: 'TailscaleTailnet',
        metadata: { name, labels: operator.labels },
        spec: { oauthSecretRef: { namespace, name } },
      },
    });

    const workflowId = tailnetWorkflowId(name);
    const describe = () =>
      receiver.spans
        .map((s) => `${s.service}:${s.name}(${s.spanId.slice(0, 6)}<-${s.parentSpanId?.slice(0, 6) ?? ''})`)
        .join(', ');
    /** The names from the watcher's span down to a Tailscale request, each the parent of the next. */
    const chainToTailscale = () => {
      const byId = new Map(receiver.spans.map((s) => [s.spanId, s]));
      const root = receiver.spans.find(
        (s) => s.name === 'watcher signal changed' && attribute(s, 'workflow.id')?.stringValue === workflowId,
      );
      if (!root) throw new Error(`no watcher span for ${workflowId} among ${describe()}`);
      for (const leaf of receiver.spans.filter(
        (s) => s.traceId === root.traceId && s.name.startsWith('tailscale '),
      )) {
        const names = [leaf.name];
        for (let s = leaf; s.parentSpanId && byId.has(s.parentSpanId);) {
          s = byId.get(s.parentSpanId)!;
          names.push(s.name);
        }
        if (names.at(-1) === root.name) return names.reverse();
      }
      throw new Error(`no connected chain among ${describe()}`);
    };
    // The workflow's span ends, and is exported, when its run does: the watcher's deletion signal ends it.
    await eventually('the tailnet checked', () =>
      receiver.spans.some((s) => s.name === 'RunActivity:checkTailnetCredentials') ? true : undefined,
    );
    await objects.deleteClusterCustomObject({ ...tailnets, name });
    const chain = await eventually(
      'a Tailscale request span whose ancestors reach the watcher signal',
      chainToTailscale,
      {
        timeoutMs: 60_000,
      },
    );
    expect(chain).toEqual([
      'watcher signal changed',
      'SignalWithStartWorkflow:tailscaleTailnetWorkflow',
      'RunWorkflow:tailscaleTailnetWorkflow',
      'StartActivity:checkTailnetCredentials',
      'RunActivity:checkTailnetCredentials',
      expect.stringMatching(/^tailscale /),
    ]);

    // The activity's Kubernetes requests are its children: the OAuth Secret read, by path template.
    const secretRead = 'kubernetes GET /api/v1/namespaces/{namespace}/secrets/{name}';
    const kubeUnderActivity = await eventually('a Kubernetes request span under the activity', () => {
      const byId = new Map(receiver.spans.map((s) => [s.spanId, s]));
      return receiver.spans.find(
        (s) =>
          s.name === secretRead &&
          byId.get(s.parentSpanId ?? '')?.name === 'RunActivity:checkTailnetCredentials' &&
          s.traceId === byId.get(s.parentSpanId ?? '')?.traceId,
      );
    });
    expect(attribute(kubeUnderActivity, 'http.request.method')).toEqual({ stringValue: 'GET' });
    expect(Number(attribute(kubeUnderActivity, 'http.response.status_code')?.intValue)).toBe(200);
    // Neither the Secret's namespace nor its name: only the template.
    const kubeSpans = JSON.stringify(receiver.spans.filter((s) => s.name.startsWith('kubernetes ')));
    expect(kubeSpans).not.toContain(`/${namespace}/`);
    expect(kubeSpans).not.toContain(`/${name}`);

    const services = new Set(receiver.spans.map((s) => s.service));
    expect(services).toEqual(new Set(['tailscale-gateway-watchers', 'tailscale-gateway-worker']));
    const everything = JSON.stringify(receiver.spans);
    expect(everything).not.toContain(oauth.secret);
    expect(everything).not.toMatch(/bearer /i);
    expect(everything).not.toMatch(/client_secret|authorization/i);
  });
});
