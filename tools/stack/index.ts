import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { crdManifest } from '../../api/crd';
import { allCrds } from '../../api/v1alpha1';
import { loadOperatorConfig } from '../../runtime/config';
import { applyManifests, readManifestDir, waitForCrdsEstablished } from './apply';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane';
import { toolPaths } from './paths';
import { startTemporalServer, type TemporalServer } from './temporal-server';

export interface StackOptions {
  dir: string;
  ui: boolean;
  uiPort?: number;
  temporalPort?: number;
  minRequestTimeoutSeconds?: number;
  temporalNamespaces?: string[];
  kubePorts?: ControlPlaneOptions['ports'];
}

/** What a test run or the local stack needs to reach the running parts; written to `<dir>/stack.json`. */
export interface StackInfo {
  dir: string;
  kubeconfigPath: string;
  kubeServer: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  temporalDbFile: string;
  /** Where the operator processes of this stack put the proxies (OPERATOR_NAMESPACE). */
  operatorNamespace: string;
  pids: Record<string, number | undefined>;
}

export interface Stack {
  info: StackInfo;
  controlPlane: ControlPlane;
  temporal: TemporalServer;
  stop(): Promise<void>;
}

/** The Gateway API standard channel plus the experimental-only kinds (the route watchers need both). */
function gatewayApiManifests() {
  const { gatewayApiCrds } = toolPaths();
  if (!existsSync(gatewayApiCrds))
    throw new Error(`Gateway API CRDs missing in ${gatewayApiCrds}: run tools/setup.sh`);
  const standard = new Set(readdirSync(join(gatewayApiCrds, 'standard')));
  return [
    ...readManifestDir(join(gatewayApiCrds, 'standard')),
    ...readManifestDir(join(gatewayApiCrds, 'experimental'), (f) => !standard.has(f)),
  ];
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  mkdirSync(opts.dir, { recursive: true });
  const [controlPlane, temporal] = await Promise.allSettled([
    startControlPlane({
      dir: join(opts.dir, 'kube'),
      minRequestTimeoutSeconds: opts.minRequestTimeoutSeconds,
      ports: opts.kubePorts,
    }),
    startTemporalServer({
      dir: join(opts.dir, 'temporal'),
      ui: opts.ui,
      uiPort: opts.uiPort,
      port: opts.temporalPort,
      namespaces: opts.temporalNamespaces,
    }),
  ]);
  if (controlPlane.status === 'rejected' || temporal.status === 'rejected') {
    if (controlPlane.status === 'fulfilled') await controlPlane.value.stop();
    if (temporal.status === 'fulfilled') await temporal.value.stop();
    throw controlPlane.status === 'rejected'
      ? controlPlane.reason
      : (temporal as PromiseRejectedResult).reason;
  }
  const stack: Stack = {
    controlPlane: controlPlane.value,
    temporal: temporal.value,
    info: {
      dir: opts.dir,
      kubeconfigPath: controlPlane.value.kubeconfigPath,
      kubeServer: controlPlane.value.server,
      temporalAddress: temporal.value.address,
      temporalUiUrl: temporal.value.uiUrl,
      temporalDbFile: temporal.value.dbFile,
      // The operator's default (OPERATOR_NAMESPACE unset), so a process started by hand finds it too.
      operatorNamespace: loadOperatorConfig({}).operatorNamespace,
      pids: Object.fromEntries(
        [...controlPlane.value.processes, temporal.value.process].map((p) => [p.name, p.child.pid]),
      ),
    },
    async stop() {
      await Promise.all([controlPlane.value.stop(), temporal.value.stop()]);
    },
  };
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(stack.info.kubeconfigPath);
    const ours = allCrds.map(crdManifest);
    const gatewayApi = gatewayApiManifests();
    const operatorNamespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: stack.info.operatorNamespace },
    };
    await applyManifests(kc, [...ours, ...gatewayApi, operatorNamespace]);
    const crdNames = [...ours, ...gatewayApi]
      .filter((o) => o.kind === 'CustomResourceDefinition')
      .map((o) => o.metadata?.name ?? '');
    await waitForCrdsEstablished(kc, crdNames);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  writeFileSync(join(opts.dir, 'stack.json'), JSON.stringify(stack.info, null, 2));
  return stack;
}
