/**
 * `npm start`: the whole product on this machine. A real Temporal dev server (with its Web UI), a real
 * kube-apiserver + etcd, the operator's worker and watchers, and the examples applied. State persists
 * in .stack/ between runs. Ctrl-C stops everything.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { repoRoot } from '../runtime/paths';
import { applyManifests, readManifests } from './stack/apply';
import { startStack, type Stack } from './stack';
import { startOperatorProcesses, type OperatorProcesses } from './stack/operator';

const envPort = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

async function main() {
  const root = repoRoot();
  const dir = process.env.TSGW_STACK_DIR ?? join(root, '.stack');
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  console.log(`starting the local stack in ${relative(process.cwd(), dir) || dir} ...`);

  const stack: Stack = await startStack({
    dir,
    ui: true,
    temporalPort: envPort('TSGW_TEMPORAL_PORT', 7233),
    uiPort: envPort('TSGW_TEMPORAL_UI_PORT', 8233),
    kubePorts: {
      apiserver: envPort('TSGW_KUBE_APISERVER_PORT', 6443),
      etcd: envPort('TSGW_ETCD_PORT', 2379),
      etcdPeer: envPort('TSGW_ETCD_PEER_PORT', 2380),
    },
  });
  const operator: OperatorProcesses = startOperatorProcesses({
    logDir: join(dir, 'logs'),
    env: {
      ...process.env,
      KUBECONFIG: stack.info.kubeconfigPath,
      TEMPORAL_ADDRESS: stack.info.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
    },
  });

  const kc = new KubeConfig();
  kc.loadFromFile(stack.info.kubeconfigPath);
  const exampleDir = join(root, 'examples');
  const examples = readdirSync(exampleDir)
    .filter((f) => /^\d+-.*\.yaml$/.test(f))
    .sort();
  for (const file of examples) await applyManifests(kc, readManifests(join(exampleDir, file)));

  const kubeconfig = relative(process.cwd(), stack.info.kubeconfigPath);
  console.log(`
local stack up in ${((Date.now() - started) / 1000).toFixed(1)} s

  Temporal UI      ${stack.info.temporalUiUrl}/namespaces/default/workflows
  Temporal         ${stack.info.temporalAddress} (namespace default)
  kubeconfig       ${stack.info.kubeconfigPath}
  examples applied ${examples.join(', ')}
  logs             ${join(dir, 'logs')} (worker, watchers), ${dir}/kube, ${dir}/temporal

  try: kubectl --kubeconfig ${kubeconfig} get tailscale-gateway
       kubectl --kubeconfig ${kubeconfig} get tailscaletailnets

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local stack ...`);
    await operator.stop();
    await stack.stop();
    console.log('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  for (const p of [
    operator.worker,
    operator.watchers,
    ...stack.controlPlane.processes,
    stack.temporal.process,
  ]) {
    void p.exited.then((code) => {
      if (!stopping) console.error(`${p.name} exited (${code}); see ${p.logFile}`);
    });
  }
}

main().catch((err: unknown) => {
  console.error(`local stack failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
