/**
 * What every real-Envoy-Gateway test starts EG with: the extensionManager block we ship, the
 * GatewayClass EG's standalone controller owns, and the clusters EG then publishes over ADS.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { clusterCodec } from '../../../extension/codec';
import { repoRoot } from '../../../runtime/paths';
import { envoyGatewayXdsPort, type EnvoyGateway } from '../../../tools/stack/envoy-gateway';
import { clusterTypeUrl, readPublished } from './ads-reader';

/**
 * The extensionManager block we ship (deploy/envoy-gateway/extension-manager.yaml), as is. Only the
 * service differs: startEnvoyGateway points it at our server on loopback instead of the in-cluster
 * Service.
 */
export function shippedExtensionManager(): Record<string, unknown> {
  const path = join(repoRoot(), 'deploy', 'envoy-gateway', 'extension-manager.yaml');
  const file = parse(readFileSync(path, 'utf8')) as { extensionManager?: Record<string, unknown> };
  if (!file.extensionManager) throw new Error(`${path} has no extensionManager block`);
  const block = { ...file.extensionManager };
  delete block.service;
  return block;
}

/** The GatewayClass `eg` of EG's standalone controller. */
/** The Ready condition our objects carry once reconciled: what the extension's index admits. */
export const readyCondition = {
  type: 'Ready',
  status: 'True',
  reason: 'Ready',
  message: '',
  lastTransitionTime: '2026-01-01T00:00:00Z',
};

export const egGatewayClass = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'GatewayClass',
  metadata: { name: 'eg' },
  spec: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' },
};

/** The clusters EG publishes over its ADS port for the Gateway `<namespace>/<gateway>`, decoded. */
export async function publishedClusters(eg: EnvoyGateway, namespace: string, gateway = 'eg') {
  const published = await readPublished({
    port: envoyGatewayXdsPort,
    configHome: eg.configHome,
    irKey: `${namespace}/${gateway}`,
    typeUrl: clusterTypeUrl,
  });
  return published.map((bytes) => clusterCodec.decode(bytes));
}

/** Each priority of a cluster's inline load assignment with its socket addresses. */
export const socketAddresses = (cluster: ReturnType<typeof clusterCodec.decode>) =>
  cluster.loadAssignment?.endpoints?.map((l) => ({
    priority: l.priority ?? 0,
    addresses: l.lbEndpoints.map((e) => e.endpoint.address.socketAddress),
  }));
