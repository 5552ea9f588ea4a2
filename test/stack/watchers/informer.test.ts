import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { temporal } from '@temporalio/proto';
import type { KubeObject } from '../../../api/common';
import type { TailscaleEndpoints } from '../../../api/v1alpha1/tailscale-endpoints';
import { createLogger, type Logger } from '../../../runtime/logger';
import { Informer, type ListPage, type Watchable } from '../../../watchers/informer';
import { tailscaleEndpointsWatch } from '../../../watchers/proxy-kinds';
import { WorkflowSignaler } from '../../../watchers/signaler';
import { changedDelivery } from '../../../watchers/watched-kind';
import { eventually } from '../../support/eventually';
import { createTestNamespace, temporalClient, testKubeConfig, uniqueName } from '../../support/stack';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';
const plural = 'tailscaleendpoints';
type Obj = KubeObject<unknown, unknown>;
const EventType = temporal.api.enums.v1.EventType;

describe('Informer against the real API server: reconnects, 410 Gone, relists', () => {
  let kc: KubeConfig;
  let api: CustomObjectsApi;
  let namespace: string;
  const informers: Informer<Obj>[] = [];

  beforeAll(async () => {
    kc = testKubeConfig();
    api = kc.makeApiClient(CustomObjectsApi);
    namespace = await createTestNamespace(kc, 'informer');
  });
  afterAll(() => Promise.all(informers.map((i) => i.stop())));

  const create = (name: string) =>
    api.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name, labels: { batch: 'informer' } },
        spec: { tailnet: 'corp', tags: ['tag:k8s'] },
      },
    });

  const start = (
    list: (opts: { limit: number; continue?: string }) => Promise<ListPage<Obj>>,
    opts: { resyncIntervalMs?: number; onUpsert?: (o: Obj) => void; logger?: Logger } = {},
  ) => {
    const seen = new Map<string, string>();
    const deleted = new Set<string>();
    const informer = new Informer<Obj>({
      name: 'test',
      kc,
      path: `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
      list,
      resyncIntervalMs: opts.resyncIntervalMs ?? 3_600_000,
      logger: opts.logger ?? createLogger({ level: 'error' }),
      onUpsert: (o) => {
        seen.set(o.metadata.name, o.metadata.resourceVersion ?? '');
        opts.onUpsert?.(o);
      },
      onDelete: (o) => {
        seen.delete(o.metadata.name);
        deleted.add(o.metadata.name);
      },
    });
    informer.start();
    informers.push(informer);
    return { informer, seen, deleted };
  };

  const realList = async ({ limit, continue: cont }: { limit: number; continue?: string }) =>
    (await api.listNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      limit,
      _continue: cont,
    })) as ListPage<Obj>;

  it('sees every change across the watch closes the API server forces (min-request-timeout 10 s)', async () => {
    const { informer, seen, deleted } = start(realList);
    await eventually('synced', () => (informer.hasSynced ? true : undefined));
    const names: string[] = [];
    // Changes spread over 25 s: each watch lasts 10–20 s, so some land while the informer reconnects.
    for (let i = 0; i < 10; i++) {
      const name = uniqueName('rc');
      names.push(name);
      await create(name);
      // Fixed sleep: spreads the changes over the watches the API server closes on its own timer, which
      // no event announces, so that some land while the informer reconnects.
      await new Promise((r) => setTimeout(r, 2500));
    }
    await api.deleteNamespacedCustomObject({ group, version, namespace, plural, name: names[0] ?? '' });
    await eventually('every object seen', () =>
      names.slice(1).every((n) => seen.has(n)) ? true : undefined,
    );
    await eventually('the deletion seen', () => (deleted.has(names[0] ?? '') ? true : undefined));
    expect(informer.stats.watches).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('relists after 410 Gone (a resourceVersion the server no longer has) and loses nothing', async () => {
    const before = uniqueName('gone');
    await create(before);
    let lists = 0;
    // The first list claims an ancient resourceVersion, as after a long disconnect: the watch gets 410.
    const { informer, seen } = start(async (opts) => {
      const page = await realList(opts);
      return lists++ === 0 ? { ...page, metadata: { ...page.metadata, resourceVersion: '1' } } : page;
    });
    await eventually('410 handled', () => (informer.stats.gone410 >= 1 ? true : undefined));
    const after = uniqueName('gone');
    await create(after);
    await eventually('objects from before and after the 410', () =>
      seen.has(before) && seen.has(after) ? true : undefined,
    );
    expect(lists).toBeGreaterThanOrEqual(2);
  });

  it('a periodic resync re-delivers unchanged objects, and the signaler sends their workflow nothing new', async () => {
    const name = uniqueName('resync');
    const created = (await create(name)) as TailscaleEndpoints;
    const temporalConn = await temporalClient();
    const { client } = temporalConn;
    // No worker polls this queue: the workflow's history only records what the watchers sent it.
    const signaler = new WorkflowSignaler({
      client,
      taskQueue: uniqueName('tq-resync'),
      logger: createLogger({ level: 'error' }),
    });
    const workflowId = tailscaleEndpointsWatch.workflowId(created);
    /** resourceVersion of each delivery of our object, in order. */
    const deliveries: string[] = [];
    const { informer } = start(realList, {
      resyncIntervalMs: 1_500,
      // What watchers/main.ts does with every upsert of a watched kind.
      onUpsert: (o) => {
        if (o.metadata.name !== name) return;
        deliveries.push(o.metadata.resourceVersion ?? '');
        signaler.enqueue(changedDelivery(tailscaleEndpointsWatch, o as TailscaleEndpoints));
      },
    });
    const objectChangedSignals = async () => {
      const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
      return (events ?? []).filter(
        (e) =>
          e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED &&
          e.workflowExecutionSignaledEventAttributes?.signalName === 'objectChanged',
      ).length;
    };
    const resyncs = async (count: number) => {
      const target = informer.stats.lists + count;
      await eventually(`${count} resync relists`, () => (informer.stats.lists >= target ? true : undefined), {
        timeoutMs: 20_000,
      });
      await signaler.whenIdle();
    };

    try {
      await eventually('the first delivery', () => (deliveries.length ? true : undefined));
      await resyncs(3);
      // The relists handed the same, unchanged object over again...
      expect(deliveries.length).toBeGreaterThanOrEqual(4);
      expect(new Set(deliveries)).toEqual(new Set([created.metadata.resourceVersion]));
      const onServer = (await api.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        name,
      })) as Obj;
      expect(onServer.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
      // ...and only the first became a signal: the workflow saw one objectChanged in all that time.
      expect(signaler.stats.delivered).toBe(1);
      expect(signaler.stats.skippedUnchanged).toBe(deliveries.length - 1);
      expect(await objectChangedSignals()).toBe(1);

      // A change the workflow reads (its spec; labels are not carried) goes through the same path and is
      // signalled (the count above could have grown).
      await api.patchNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        name,
        body: [{ op: 'add', path: '/spec/tags/-', value: 'tag:resync' }],
      });
      await eventually('the spec change signalled', async () =>
        (await objectChangedSignals()) === 2 ? true : undefined,
      );
      // The resyncs after it re-deliver the new version, and still signal nothing.
      await resyncs(2);
      expect(deliveries.at(-1)).not.toBe(created.metadata.resourceVersion);
      expect(signaler.stats.delivered).toBe(2);
      expect(await objectChangedSignals()).toBe(2);
    } finally {
      signaler.stop();
      await informer.stop();
      await client.workflow
        .getHandle(workflowId)
        .terminate('test done')
        .catch(() => undefined);
      await temporalConn.close();
    }
  }, 60_000);

  it('lists the Secrets of an empty namespace as metadata (items: null) without a restart', async () => {
    // A fresh install's operator namespace: no proxy Secret yet. The API server sends the empty
    // PartialObjectMetadataList with `items: null`.
    const empty = await createTestNamespace(kc, 'informer-empty');
    const core = kc.makeApiClient(CoreV1Api);
    const seen = new Set<string>();
    const informer = new Informer<Watchable>({
      name: 'secrets',
      kc,
      path: `/api/v1/namespaces/${empty}/secrets`,
      list: ({ limit, continue: cont, options }) =>
        core.listNamespacedSecret({ namespace: empty, limit, _continue: cont }, options),
      metadataOnly: true,
      keepObjects: false,
      resyncIntervalMs: 3_600_000,
      logger: createLogger({ level: 'error' }),
      onUpsert: (secret) => seen.add(secret.metadata?.name ?? ''),
      onDelete: () => {},
    });
    informer.start();
    try {
      await eventually('listed', () => (informer.hasSynced ? true : undefined), { timeoutMs: 10_000 });
      expect(informer.stats.restarts).toBe(0);
      await core.createNamespacedSecret({
        namespace: empty,
        body: { metadata: { name: 'first' }, stringData: { key: 'value' } },
      });
      await eventually('the first Secret seen', () => (seen.has('first') ? true : undefined));
    } finally {
      await informer.stop();
    }
  });

  it("logs a failed list by the API server's status and message, not the whole response", async () => {
    const lines: string[] = [];
    const status = { kind: 'Status', code: 429, message: 'too many requests, please try again later' };
    let failures = 1;
    const { informer } = start(
      async (opts) => {
        if (failures-- > 0) {
          const response = `HTTP-Code: 429\nBody: ${JSON.stringify(status)}\nHeaders: {"audit-id":"a1"}`;
          throw new ApiException(429, response, JSON.stringify(status), { 'audit-id': 'a1' });
        }
        return realList(opts);
      },
      { logger: createLogger({ level: 'warn', write: (line) => lines.push(line) }) },
    );
    await eventually('listed after the failure', () => (informer.hasSynced ? true : undefined));
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; error?: string });
    expect(warned.map((w) => [w.msg, w.error])).toEqual([
      ['watch failed; restarting', '429: too many requests, please try again later'],
    ]);
  });

  it('restarts with backoff after a failed list, then recovers', async () => {
    let failures = 2;
    const { informer, seen } = start(async (opts) => {
      if (failures-- > 0) throw Object.assign(new Error('injected list failure'), { statusCode: 503 });
      return realList(opts);
    });
    const name = uniqueName('recover');
    await create(name);
    await eventually('recovered', () => (seen.has(name) ? true : undefined), { timeoutMs: 15_000 });
    expect(informer.stats.restarts).toBeGreaterThanOrEqual(2);
  });
});
