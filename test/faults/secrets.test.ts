/**
 * Case 8: no OAuth client secret, access token (tskey-api-…) or auth key (tskey-auth-…) in any log
 * line or any workflow history, memo or search attribute. This file runs a scenario that moves every
 * kind of credential through the operator (proxies getting auth keys, a lost replica state asking for a
 * new one, an OAuth client rotated, wrong credentials, Tailscale errors while minting keys), then scans
 * every operator log of the run so far and every workflow of the shared Temporal namespaces. Each other
 * fault file also scans its own logs and workflows at its end (scanWorld), so files running after this
 * one are covered too; the Temporal-restart file scans its own server.
 *
 * Guards: references instead of values in workflow inputs, results and signals (Secret names and
 * versions, never data; auth keys go from the API response straight into the config Secret), redaction
 * of every log line (runtime/logger.ts), and error messages that never carry a credential. Shown to
 * fail (locally, once) with an activity returning the minted auth key to its workflow.
 */
import { proxiesOf } from '../support/proxies';
import { CoreV1Api } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startProxySimulator, type ProxySimulator } from '../../simulators/proxy/simulator';
import { eventually } from '../support/eventually';
import { stackInfo, uniqueName } from '../support/stack';
import { configKey } from './support/kube';
import { SecretScanner } from './support/secrets-scan';
import { injectFault } from './support/tailscale-faults';
import { startFaultWorld, type FaultWorld } from './support/world';

describe('secrets never reach logs or Temporal', () => {
  let w: FaultWorld;
  let proxies: ProxySimulator;
  const known: string[] = [];

  beforeAll(async () => {
    w = await startFaultWorld({ prefix: 'secrets' });
    proxies = startProxySimulator({ kc: w.kc, tailscale: w.tailnet.sim.admin, namespaces: [w.namespace] });
    known.push(w.tailnet.oauth.secret);
  });
  afterAll(async () => {
    await proxies?.stop();
    await w?.close();
  });

  /** Auth keys as the operator writes them into config Secrets, collected while they are there. */
  const collectAuthKeys = async () => {
    const core = w.kc.makeApiClient(CoreV1Api);
    const secrets = await core.listNamespacedSecret({
      namespace: stackInfo().operatorNamespace,
      labelSelector: `gateway.tailscale.com/parent-namespace=${w.namespace}`,
    });
    for (const s of secrets.items) {
      const raw = Buffer.from(s.data?.[configKey] ?? '', 'base64').toString('utf8');
      const key = raw ? (JSON.parse(raw) as { AuthKey?: string }).AuthKey : undefined;
      if (key && !known.includes(key)) known.push(key);
    }
  };

  it('moves every kind of credential through the operator', async () => {
    const core = w.kc.makeApiClient(CoreV1Api);
    const name = uniqueName('px');
    // Key minting fails twice first: the errors travel through activity failures and logs.
    await injectFault(w.tailnet.sim.admin, {
      kind: 'error',
      status: 500,
      method: 'POST',
      path: '**/keys',
      count: 2,
    });
    await w.objects.create(
      'TailscaleEndpoints',
      name,
      { tailnet: w.tailnet.name, tags: ['tag:k8s'], proxy: { replicas: 2 } },
      { ...w.operator.labels, app: name },
    );
    await eventually('auth keys written', async () => {
      await collectAuthKeys();
      return known.length >= 3 ? true : undefined;
    });
    await w.objects.waitReady('TailscaleEndpoints', name, 180_000);
    await w.objects.create(
      'TailscaleServices',
      name,
      {
        tailnet: w.tailnet.name,
        selector: { matchLabels: { app: name } },
        vipService: { ports: ['tcp:443'], tags: ['tag:k8s'] },
      },
      w.operator.labels,
    );
    await w.objects.waitReady('TailscaleServices', name, 180_000);

    // A replica loses its state: it asks for a new key, which the operator mints.
    const placed = proxiesOf(w.namespace, name);
    await proxies.wipeReplicaState(placed.namespace, placed.name, 0);
    await eventually('a fresh key', async () => {
      const before = known.length;
      await collectAuthKeys();
      return known.length > before ? true : undefined;
    });

    // The OAuth client is rotated; then someone pastes a wrong secret; then the right one again.
    const rotated = await w.tailnet.sim.admin.createOAuthClient({
      scopes: ['devices:core', 'auth_keys', 'services'],
      tags: ['tag:k8s'],
    });
    known.push(rotated.secret);
    const setSecret = (clientSecret: string, clientId = rotated.id) =>
      core.replaceNamespacedSecret({
        namespace: w.namespace,
        name: `${w.tailnet.name}-oauth`,
        body: {
          metadata: { name: `${w.tailnet.name}-oauth`, namespace: w.namespace },
          stringData: { client_id: clientId, client_secret: clientSecret },
        },
      });
    // Random like a real one: a run of one letter would also match unrelated names in the logs.
    const wrong = `tskey-client-${rotated.id}-${randomBytes(16).toString('hex')}`;
    known.push(wrong);
    await setSecret(wrong);
    await w.objects.waitCondition(
      'TailscaleTailnet',
      w.tailnet.name,
      'Ready',
      (c) => c.reason === 'InvalidOAuth',
    );
    await setSecret(rotated.secret);
    await w.objects.waitCondition('TailscaleTailnet', w.tailnet.name, 'Ready', (c) => c.status === 'True');

    await w.objects.delete('TailscaleServices', name);
    await w.objects.delete('TailscaleEndpoints', name);
    await w.objects.waitGone('TailscaleServices', name, 180_000);
    await w.objects.waitGone('TailscaleEndpoints', name, 180_000);
    expect(known.filter((k) => k.startsWith('tskey-auth-')).length).toBeGreaterThanOrEqual(3);
  }, 600_000);

  it('finds none of them in any log line, workflow history, memo or search attribute', async () => {
    const scanner = new SecretScanner(known);
    scanner.scanLogs(join(stackInfo().dir, 'logs'));
    const connection = await Connection.connect({ address: stackInfo().temporalAddress });
    try {
      for (const namespace of ['default', 'operator-b']) {
        await scanner.scanTemporal(new Client({ connection, namespace }), namespace);
      }
    } finally {
      await connection.close();
    }
    const { report } = scanner;
    expect(report.leaks).toEqual([]);
    expect(report.logLines).toBeGreaterThan(100);
    expect(report.workflows).toBeGreaterThan(5);
    process.stdout.write(
      `secrets scan: ${report.logFiles} log files, ${report.logLines} lines, ${report.workflows} workflows, ` +
        `${report.historyEvents} history events, ${known.length} known secrets: ${report.leaks.length} leaks\n`,
    );
  }, 600_000);
});
