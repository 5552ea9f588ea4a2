/**
 * Issue: the watchers copied every annotation into each signal, and a signal stays in the workflow's
 * history. One object with a 200 kB annotation and five spec edits made a 1 MB history. A signal now
 * carries what the workflows read (watchers/watched-kind.ts snapshotOf), whatever the annotations.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { servicesWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { createTailscaleServices } from '../../support/objects';
import { startOperator, type TestOperator } from '../../support/operator';
import { createTestNamespace, temporalClient, testKubeConfig, uniqueName } from '../../support/stack';

const annotationBytes = 200_000;

describe('what a signal carries into history', () => {
  let kc: KubeConfig;
  let namespace: string;
  let operator: TestOperator;

  beforeAll(async () => {
    kc = testKubeConfig();
    namespace = await createTestNamespace(kc, 'signal-size');
    operator = startOperator({ instance: uniqueName('sigsize'), watchNamespaces: [namespace] });
  });
  afterAll(async () => {
    await operator?.stop();
  });

  it('an object with a 200 kB annotation and five spec edits keeps its workflow history small', async () => {
    const name = uniqueName('big-annotation');
    await createTailscaleServices(kc, {
      namespace,
      name,
      labels: operator.labels,
      spec: {
        tailnet: 'not-created',
        selector: { matchLabels: { app: name } },
        vipService: { ports: ['tcp:1000'], tags: ['tag:web'] },
      },
    });
    const objects = kc.makeApiClient(CustomObjectsApi);
    const ref = {
      group: 'gateway.tailscale.com',
      version: 'v1alpha1',
      namespace,
      plural: 'tailscaleservices',
      name,
    };
    await objects.patchNamespacedCustomObject({
      ...ref,
      body: [
        {
          op: 'add',
          path: '/metadata/annotations',
          value: { 'example.com/blob': 'b'.repeat(annotationBytes) },
        },
      ],
    });

    const conn = await temporalClient();
    try {
      const handle = conn.client.workflow.getHandle(servicesWorkflowId(namespace, name));
      const signals = async () =>
        ((await handle.fetchHistory()).events ?? []).filter(
          (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'objectChanged',
        );
      await eventually('the first signal', async () => ((await signals()).length ? true : undefined), {
        timeoutMs: 60_000,
      });
      // One edit at a time, each waited for, so the signaler's per-object coalescing keeps all five.
      for (let i = 1; i <= 5; i++) {
        const before = (await signals()).length;
        await objects.patchNamespacedCustomObject({
          ...ref,
          body: [{ op: 'replace', path: '/spec/vipService/ports', value: [`tcp:${1000 + i}`] }],
        });
        await eventually(`the signal of edit ${i}`, async () =>
          (await signals()).length > before ? true : undefined,
        );
      }

      const delivered = await signals();
      expect(delivered.length).toBeGreaterThanOrEqual(6);
      const payloadBytes = delivered.map((e) =>
        (e.workflowExecutionSignaledEventAttributes?.input?.payloads ?? []).reduce(
          (n, p) => n + (p.data?.length ?? 0),
          0,
        ),
      );
      // Each carries the spec and a few metadata fields: nowhere near the annotation.
      for (const bytes of payloadBytes) expect(bytes).toBeLessThan(4_000);
      const { historySize } = await handle.describe();
      expect(historySize).toBeDefined();
      expect(historySize!).toBeLessThan(annotationBytes);
    } finally {
      await conn.close();
    }
  }, 180_000);
});
