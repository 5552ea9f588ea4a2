import { KubeConfig } from '@kubernetes/client-node';

/**
 * Loads Kubernetes credentials from an explicit kubeconfig path, or in-cluster credentials when none
 * is given. Never `loadFromDefault()`: that silently falls back to ~/.kube/config or localhost:8080.
 */
export function loadKubeConfig(kubeconfigPath: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromCluster();
  return kc;
}
