/**
 * The README's start command, as a user runs it: `npm start` is setup + build (done by `npm test`'s
 * pretest) and then `node dist/tools/local-stack.js`, run here with a fresh state directory and free
 * ports so it does not meet the test stack. It must print where to look (the Temporal UI and the
 * kubeconfig), that UI must answer and show the example tailnet's workflow, the printed kubeconfig must
 * list the example tailnet Ready, and Ctrl-C must stop every process it started.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { TailscaleTailnet } from '../../../api/v1alpha1';
import { repoRoot } from '../../../runtime/paths';
import type { StackInfo } from '../../../tools/stack';
import { freePort } from '../../../tools/stack/ports';
import { eventually } from '../../support/eventually';
import { isConditionTrue } from '../../support/conditions';

const portVariables = [
  'TSGW_TEMPORAL_PORT',
  'TSGW_TEMPORAL_UI_PORT',
  'TSGW_KUBE_APISERVER_PORT',
  'TSGW_ETCD_PORT',
  'TSGW_ETCD_PEER_PORT',
  'TSGW_TAILSCALE_PORT',
  'TSGW_EXTENSION_GRPC_PORT',
  'TSGW_EXTENSION_HTTP_PORT',
];

/** True when something still listens on the port (a process the stack should have stopped). */
const portInUse = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start: the local stack', () => {
  let dir: string;
  let stack: ChildProcessWithoutNullStreams | undefined;
  let output = '';
  let exited: Promise<number | null>;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsgw-local-stack-'));
    for (const name of portVariables) ports[name] = await freePort();
    stack = spawn(process.execPath, [join(repoRoot(), 'dist', 'tools', 'local-stack.js')], {
      cwd: repoRoot(),
      env: {
        ...process.env,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        TSGW_STACK_DIR: dir,
      },
    });
    stack.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    stack.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const child = stack;
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  });

  afterAll(async () => {
    if (stack && stack.exitCode === null && stack.signalCode === null) {
      stack.kill('SIGINT');
      const timer = setTimeout(() => stack?.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const printed = (label: string) => {
    const value = new RegExp(`^\\s*${label}\\s+(\\S+)`, 'm').exec(output)?.[1];
    if (!value) throw new Error(`the start command printed no "${label}" line:\n${output}`);
    return value;
  };

  it('comes up with the examples applied and prints the Temporal UI URL and the kubeconfig', async () => {
    await eventually(
      'the local stack to say it is up',
      () => {
        if (stack?.exitCode !== null) throw new Error(`exited early (${stack?.exitCode}):\n${output}`);
        return /local stack up in/.test(output) ? true : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 250 },
    );
    expect(printed('Temporal UI')).toBe(
      `http://127.0.0.1:${ports.TSGW_TEMPORAL_UI_PORT}/namespaces/default/workflows`,
    );
    expect(printed('kubeconfig')).toBe(join(dir, 'kube', 'kubeconfig'));
    expect(output).toMatch(/examples applied\s+01-tailnet\.yaml, 02-gateway\.yaml/);
  }, 180_000);

  it('prints a request that reaches the example backend through the tailnet', async () => {
    const address = /curl http:\/\/(127\.\d+\.\d+\.\d+)\/hello/.exec(output)?.[1];
    if (!address) throw new Error(`no request printed:\n${output}`);
    const answer = await eventually(
      'an answer from web-backend through svc:web',
      async () => (await (await fetch(`http://${address}/hello`)).json()) as { server: string; path: string },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(answer).toMatchObject({ server: 'web-backend', path: '/hello' });
  }, 60_000);

  it('prints an egress request that reaches the tailnet device web-service through its proxy', async () => {
    const address = /curl http:\/\/(127\.\d+\.\d+\.\d+:\d+)\/status/.exec(output)?.[1];
    if (!address) throw new Error(`no egress request printed:\n${output}`);
    const answer = await eventually(
      'an answer from web-service through an egress proxy',
      async () =>
        (await (await fetch(`http://${address}/status`)).json()) as { server: string; path: string },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(answer).toMatchObject({ server: 'web-service', path: '/status' });
  }, 60_000);

  it('serves the Temporal UI, which shows the example tailnet workflow', async () => {
    const ui = `http://127.0.0.1:${ports.TSGW_TEMPORAL_UI_PORT}`;
    const page = await fetch(`${ui}/namespaces/default/workflows`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    // The UI's own API (what its workflow list renders): the skeleton workflow of the example tailnet.
    const query = encodeURIComponent('WorkflowId = "tailnet/example-tailnet"');
    const listed = await eventually(
      'the UI to list tailnet/example-tailnet',
      async () => {
        const res = await fetch(`${ui}/api/v1/namespaces/default/workflows?query=${query}`);
        const body = (await res.json()) as { executions?: { execution?: { workflowId?: string } }[] };
        return body.executions?.length ? body.executions : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(listed.map((e) => e.execution?.workflowId)).toContain('tailnet/example-tailnet');
  }, 90_000);

  it('lists the example tailnet, Ready, through the printed kubeconfig', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(printed('kubeconfig'));
    const objects = kc.makeApiClient(CustomObjectsApi);
    const tailnet = await eventually(
      'example-tailnet Ready',
      async () => {
        const list = (await objects.listClusterCustomObject({
          group: 'gateway.tailscale.com',
          version: 'v1alpha1',
          plural: 'tailscaletailnets',
        })) as { items: TailscaleTailnet[] };
        const found = list.items.find((t) => t.metadata.name === 'example-tailnet');
        return isConditionTrue(found) ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(tailnet.status?.dnsSuffix).toMatch(/\.ts\.net$/);
  }, 90_000);

  it('stops every process it started on Ctrl-C', async () => {
    const info = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as StackInfo;
    const pids = Object.values(info.pids).filter((pid): pid is number => pid !== undefined);
    expect(pids.length).toBeGreaterThanOrEqual(3); // etcd, kube-apiserver, Temporal
    stack?.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(/SIGINT: stopping the local stack[\s\S]*stopped\./);
    expect(pids.filter(alive)).toEqual([]);
    const stillListening: string[] = [];
    for (const [name, port] of Object.entries(ports)) if (await portInUse(port)) stillListening.push(name);
    expect(stillListening).toEqual([]);
  }, 60_000);
});
