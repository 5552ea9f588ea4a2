import { proxiesOf, stateSecretOf } from '../../support/proxies';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { temporal } from '@temporalio/proto';
import type { ProxyConfigsOutcome } from '../../../activities/proxies/configs';
import { startTemporalServer, type TemporalServer } from '../../../tools/stack/temporal-server';
import { endpointsWorkflowId } from '../../../workflows/ids';
import { resourceStatusQuery } from '../../../workflows/messages';
import { conditionOf } from '../../support/conditions';
import { eventually } from '../../support/eventually';
import { uniqueName } from '../../support/stack';
import {
  devicesNamed,
  proxyParents,
  secretData,
  startProxyHarness,
  type ProxyHarness,
} from './tailscale-endpoints-harness';

/**
 * A Temporal server that suggests continue-as-new after 40 events: the endpoints workflow rolls over
 * many times, and what it must remember across runs (the devices it knows, the pass count) survives.
 */
describe('TailscaleEndpoints workflow across continue-as-new', () => {
  let temporal: TemporalServer;
  let h: ProxyHarness;
  let endpoints: ReturnType<typeof proxyParents>;

  beforeAll(async () => {
    temporal = await startTemporalServer({
      dir: mkdtempSync(join(tmpdir(), 'tsgw-ep-can-')),
      ui: false,
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
    });
    h = await startProxyHarness('endpoints-can', { temporalAddress: temporal.address });
    endpoints = proxyParents(h, 'TailscaleEndpoints');
  });

  afterAll(async () => {
    await h?.close();
    await temporal?.stop();
  });

  it('converges, replaces a lost device, scales down and deletes with state carried between runs', async () => {
    const name = uniqueName('can');
    const workflowId = endpointsWorkflowId(h.namespace, name);
    /** The events of every run, newest run first. */
    const historiesOf = async (latestRunId: string) => {
      const runs: temporal.api.history.v1.IHistoryEvent[][] = [];
      let runId: string | undefined = latestRunId;
      while (runId) {
        const history: temporal.api.history.v1.IHistory = await h.temporal.workflow
          .getHandle(workflowId, runId)
          .fetchHistory();
        const events = history.events ?? [];
        runs.push(events);
        runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      }
      return runs;
    };
    const isEnsureProxyConfigs = (e: temporal.api.history.v1.IHistoryEvent) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'ensureProxyConfigs';
    /** ensureProxyConfigs scheduled per run (one per pass that got that far), newest run first. */
    const passesPerRun = async (latestRunId: string) =>
      (await historiesOf(latestRunId)).map((events) => events.filter(isEnsureProxyConfigs).length);
    /** The device IDs that completed ensureProxyConfigs activities recorded in history. */
    const devicesInHistory = async () => {
      const ids = new Set<string>();
      for (const events of await historiesOf((await handle.describe()).runId)) {
        const scheduled = new Set(events.filter(isEnsureProxyConfigs).map((e) => String(e.eventId)));
        for (const e of events) {
          const completed = e.activityTaskCompletedEventAttributes;
          if (!completed || !scheduled.has(String(completed.scheduledEventId))) continue;
          const data = completed.result?.payloads?.[0]?.data;
          const outcome = data && (JSON.parse(Buffer.from(data).toString()) as ProxyConfigsOutcome);
          for (const r of outcome ? outcome.replicas : []) if (r.deviceId) ids.add(r.deviceId);
        }
      }
      return ids;
    };
    const handle = h.temporal.workflow.getHandle(workflowId);
    await endpoints.create(name, { proxy: { replicas: 2 } });
    await endpoints.waitReady(name);
    const firstRun = (await handle.describe()).runId;

    // The device the workflow learnt of in an earlier run is deleted when replica 1 registers anew.
    const [old] = (await devicesNamed(h, name)).filter((d) => d.hostname === `${name}-1`);
    // Ready is published before the workflow task that saw it completes, and a task that fails then
    // (a signal coming in while it continues as new) loses its local activities: wipe the state only
    // once the device is in history, where the next run takes it from.
    await eventually('replica 1 device recorded in history', async () =>
      (await devicesInHistory()).has(old!.nodeId) ? true : undefined,
    );
    const at = proxiesOf(h.namespace, name);
    await h.proxies.wipeReplicaState(at.namespace, at.name, 1);
    // A lost state takes a pod restart, a fresh auth key, a login and a pass: a bound for a loaded CI.
    await eventually(
      'old device of replica 1 deleted, a new one registered',
      async () => {
        const ids = (await devicesNamed(h, name)).map((d) => d.nodeId);
        const state = await h.core.readNamespacedSecret(stateSecretOf(at, 1));
        const fresh = secretData(state, 'device_id');
        if (ids.length === 2 && fresh && fresh !== old!.nodeId && !ids.includes(old!.nodeId)) return true;
        const ready = conditionOf(await endpoints.get(name));
        throw new Error(
          `devices ${ids.join(', ')} (old ${old!.nodeId}); replica 1's device_id ${fresh ?? 'none'}; ` +
            `Ready=${ready?.status} ${ready?.reason}: ${ready?.message}`,
        );
      },
      { timeoutMs: 90_000 },
    );

    await endpoints.patch(name, [{ op: 'replace', path: '/spec/proxy/replicas', value: 1 }]);
    await endpoints.waitReady(name, 2);
    await eventually('one device left', async () =>
      (await devicesNamed(h, name)).length === 1 ? true : undefined,
    );

    const description = await handle.describe();
    expect(description.runId).not.toBe(firstRun);
    // The pass count is carried between runs: it covers the passes of every run, not just this one's
    // (each run's passes schedule ensureProxyConfigs; a count reset by continue-as-new falls short).
    const carried = await eventually('the pass count covering every run', async () => {
      const history = await passesPerRun(description.runId);
      const { reconciles } = await handle.query(resourceStatusQuery);
      const total = history.reduce((sum, n) => sum + n, 0);
      return reconciles >= total ? { history, reconciles } : undefined;
    });
    expect(carried.history.length).toBeGreaterThan(1);
    expect(carried.history.slice(1).every((n) => n > 0)).toBe(true);
    expect((await handle.query(resourceStatusQuery)).observedGeneration).toBe(2);

    await endpoints.delete(name);
    await eventually('workflow completed', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    expect(await devicesNamed(h, name)).toEqual([]);
  }, 180_000);
});
