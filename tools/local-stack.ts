/**
 * `npm start`: the whole product on this machine. A real Temporal dev server (with its Web UI), a real
 * kube-apiserver + etcd, a Tailscale API simulator with an OAuth client for the operator, the proxy
 * simulator playing the proxy pods, the operator's worker, watchers and extension server, and every
 * examples/NN-*.yaml applied in order. State persists in .stack/ between runs. Ctrl-C stops everything.
 */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../runtime/kube';
import { createLogger } from '../runtime/logger';
import { repoRoot } from '../runtime/paths';
import { startProxySimulator } from '../simulators/proxy/simulator';
import {
  exampleBackendVip,
  exampleEgressAddress,
  startEgressTarget,
  startExampleBackend,
} from './example-backend';
import { exampleFiles, readExample, startExampleTailscale, withOAuthClient } from './examples';
import { applyManifests } from './stack/apply';
import { startStack, type Stack } from './stack';
import { startOperatorProcesses, type OperatorProcesses } from './stack/operator';
import { spawnManaged } from './stack/process';

const envPort = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

async function main() {
  const root = repoRoot();
  const dir = process.env.TSGW_STACK_DIR ?? join(root, '.stack');
  mkdirSync(dir, { recursive: true });
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
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
  const tailscale = await startExampleTailscale({
    port: envPort('TSGW_TAILSCALE_PORT', 41641),
    stateFile: join(dir, 'tailscale', 'state.json'),
  });
  const env = {
    ...process.env,
    KUBECONFIG: stack.info.kubeconfigPath,
    TEMPORAL_ADDRESS: stack.info.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TAILSCALE_API_BASE_URL: tailscale.sim.url,
    OPERATOR_NAMESPACE: stack.info.operatorNamespace,
  };
  const operator: OperatorProcesses = startOperatorProcesses({ logDir, env });
  const extensionGrpc = `127.0.0.1:${envPort('TSGW_EXTENSION_GRPC_PORT', 5005)}`;
  const extensionHttp = `127.0.0.1:${envPort('TSGW_EXTENSION_HTTP_PORT', 5006)}`;
  const extension = spawnManaged({
    name: 'extension',
    command: process.execPath,
    args: [join(root, 'dist', 'extension', 'main.js')],
    env: { ...env, EXTENSION_GRPC_ADDRESS: extensionGrpc, EXTENSION_HTTP_ADDRESS: extensionHttp },
    logFile: join(logDir, 'extension.log'),
  });
  const proxies = startProxySimulator({
    kc: loadKubeConfig(stack.info.kubeconfigPath),
    tailscale: tailscale.sim.admin,
    logger: createLogger({ level: 'warn', fields: { component: 'proxy-simulator' } }),
  });

  const kc = new KubeConfig();
  kc.loadFromFile(stack.info.kubeconfigPath);
  const backend = await startExampleBackend(kc);
  const egressTarget = await startEgressTarget(tailscale.sim.admin);
  const examples = exampleFiles();
  for (const file of examples) {
    await applyManifests(kc, withOAuthClient(readExample(file), tailscale.oauth));
  }

  const kubeconfig = relative(process.cwd(), stack.info.kubeconfigPath);
  const vip = await exampleBackendVip(kc, 60_000);
  const request = vip
    ? `curl http://${vip}/hello   # a tailnet client → svc:web → a proxy → Service web-backend`
    : '(svc:web has no VIP address yet: kubectl get tailscaleservices -n tailscale-gateway web)';
  const egress = await exampleEgressAddress(kc, 60_000);
  const egressRequest = egress
    ? `curl http://${egress}/status   # as Envoy does: a web-service proxy → tailnet device web-service:8080`
    : '(web-service has no Ready egress proxy yet: kubectl get tailscaleendpoints -n tailscale-gateway web-service)';
  console.log(`
local stack up in ${((Date.now() - started) / 1000).toFixed(1)} s

  Temporal UI      ${stack.info.temporalUiUrl}/namespaces/default/workflows
  Temporal         ${stack.info.temporalAddress} (namespace default)
  kubeconfig       ${stack.info.kubeconfigPath}
  Tailscale API    ${tailscale.sim.url} (simulator; admin API at ${tailscale.sim.url}/__admin)
  extension        grpc ${extensionGrpc}, http://${extensionHttp}/health
  examples applied ${examples.join(', ')}
  logs             ${logDir} (worker, watchers, extension), ${dir}/kube, ${dir}/temporal

  try: ${request}
       ${egressRequest}
       kubectl --kubeconfig ${kubeconfig} get tailscale-gateway -A
       kubectl --kubeconfig ${kubeconfig} -n tailscale-gateway delete tailscaleservices scratch

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local stack ...`);
    await proxies.stop();
    await Promise.all([operator.stop(), extension.stop(), backend.close(), egressTarget.close()]);
    await tailscale.save();
    await tailscale.close();
    await stack.stop();
    console.log('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  for (const p of [
    operator.worker,
    operator.watchers,
    extension,
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
