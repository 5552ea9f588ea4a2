/**
 * Case 2: the Temporal server is killed mid-reconcile and started again on the same port and
 * database file, while objects change during the outage.
 *
 * A dedicated Temporal dev server serves this file (the shared stack's must never restart under the
 * other test files). Guards: the persistent database (workflows, timers and pending activities
 * survive), the worker's reconnecting pollers, and the watchers' signal queue, which retries each
 * object's newest delivery with backoff until Temporal takes it (resync is 10 min away, so it cannot
 * be what saves the changes). Shown to fail (locally, once) with the signaler dropping a delivery
 * that failed: the changes made during the outage are never reconciled.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { getVipService } from '../../activities/tailscale/vip-services';
import { freePort } from '../../tools/stack/ports';
import { startTemporalServer, type TemporalServer } from '../../tools/stack/temporal-server';
import { servicesWorkflowId } from '../../workflows/ids';
import { eventually } from '../support/eventually';
import { stackInfo, uniqueName } from '../support/stack';
import { SecretScanner } from './support/secrets-scan';
import { injectFault } from './support/tailscale-faults';
import { consumersOf, startFaultWorld, vipServicesNamed, type FaultWorld } from './support/world';

describe('Temporal server killed and restarted mid-reconcile (persistent database)', () => {
  let temporal: TemporalServer;
  let dir: string;
  let port: number;
  let w: FaultWorld;

  beforeAll(async () => {
    dir = join(stackInfo().dir, `temporal-restart-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    port = await freePort();
    temporal = await startTemporalServer({ dir, ui: false, port });
    w = await startFaultWorld({
      prefix: 'trestart',
      operator: { temporalAddress: temporal.address },
    });
  });
  afterAll(async () => {
    await w?.close();
    await temporal?.stop();
  });

  const servicesSpec = (app: string, ports = ['tcp:443']) => ({
    tailnet: w.tailnet.name,
    selector: { matchLabels: { app } },
    vipService: { ports, tags: ['tag:web'] },
  });

  it('resumes every workflow and reconciles every change made while Temporal was down', async () => {
    const names = ['alpha', 'beta', 'gamma', 'delta'].map((n) => uniqueName(n));
    const [alpha, beta, gamma, delta] = names as [string, string, string, string];
    for (const name of names)
      await w.objects.createManualEndpoints(`${name}-proxies`, w.tailnet.name, { app: name });
    for (const name of [alpha, beta]) {
      await w.objects.create('TailscaleServices', name, servicesSpec(name), w.operator.labels);
    }
    await w.objects.waitReady('TailscaleServices', alpha);
    await w.objects.waitReady('TailscaleServices', beta);

    // gamma's create is in flight (its PUT held by the simulator) when Temporal dies.
    const held = await injectFault(w.tailnet.sim.admin, {
      kind: 'latency',
      latencyMs: 2000,
      method: 'PUT',
      path: `**/vip-services/svc:${gamma}`,
      count: 1,
    });
    await w.objects.create('TailscaleServices', gamma, servicesSpec(gamma), w.operator.labels);
    await held.waitFired();
    temporal.process.child.kill('SIGKILL');
    await temporal.process.exited;

    // Changes during the outage: an update, a delete, a create.
    await w.objects.patch('TailscaleServices', alpha, [
      { op: 'replace', path: '/spec/vipService/ports', value: ['tcp:443', 'tcp:8443'] },
    ]);
    await w.objects.delete('TailscaleServices', beta);
    await w.objects.create('TailscaleServices', delta, servicesSpec(delta), w.operator.labels);
    // Temporal stays down until each change's delivery has failed past the Temporal client's own
    // retries (the watchers log it), so the watchers' queue must hold them.
    await eventually(
      'every change of the outage failed once and queued',
      () => {
        const log = readFileSync(join(w.operator.logDir, 'watchers-0.log'), 'utf8');
        const failed = log.split('\n').filter((line) => line.includes('signal to workflow failed; retrying'));
        return [alpha, beta, delta].every((name) =>
          failed.some((line) => line.includes(`"${servicesWorkflowId(w.namespace, name)}"`)),
        )
          ? true
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(w.operator.worker.child.exitCode).toBeNull();
    expect(w.operator.watchers.child.exitCode).toBeNull();

    temporal = await startTemporalServer({ dir, ui: false, port });
    expect(temporal.dbFile).toBe(join(dir, 'temporal.db'));

    const updated = await w.objects.waitReady('TailscaleServices', alpha, 180_000);
    expect(updated.metadata.generation).toBe(2);
    await w.objects.waitGone('TailscaleServices', beta, 180_000);
    await w.objects.waitReady('TailscaleServices', gamma, 180_000);
    await w.objects.waitReady('TailscaleServices', delta, 180_000);

    const services = await vipServicesNamed(w, 'svc:');
    expect(services.map((s) => s.name).sort()).toEqual([alpha, gamma, delta].map((n) => `svc:${n}`).sort());
    for (const name of [alpha, gamma, delta]) {
      const svc = services.find((s) => s.name === `svc:${name}`);
      expect(consumersOf(svc)).toEqual({ [w.consumerKey]: [`services/${w.namespace}/${name}`] });
    }
    expect((await getVipService(w.tailnet.api, `svc:${alpha}`))?.ports).toEqual(['tcp:443', 'tcp:8443']);
    expect(await w.objects.advertised(`${beta}-proxies`)).toEqual([]);

    // The histories survived the restart: the same runs carried on, none was started over.
    const connection = await Connection.connect({ address: temporal.address });
    try {
      const client = new Client({ connection });
      const gammaRuns: string[] = [];
      for await (const e of client.workflow.list({
        query: `WorkflowId = '${servicesWorkflowId(w.namespace, gamma)}'`,
      }))
        gammaRuns.push(e.runId);
      expect(gammaRuns).toHaveLength(1);
      await eventually('beta workflow completed', async () =>
        (await client.workflow.getHandle(servicesWorkflowId(w.namespace, beta)).describe()).status.name ===
        'COMPLETED'
          ? true
          : undefined,
      );

      // Case 8 for this server: nothing secret in its histories or in this operator's logs.
      const scanner = new SecretScanner([w.tailnet.oauth.secret]);
      await scanner.scanTemporal(client, 'temporal-restart');
      scanner.scanLogs(w.operator.logDir);
      expect(scanner.report.workflows).toBeGreaterThan(4);
      expect(scanner.report.leaks).toEqual([]);
    } finally {
      await connection.close();
    }
  }, 600_000);
});
