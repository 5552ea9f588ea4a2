import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { reuseConnections } from '../../runtime/kube';
import type { StackInfo } from '../../tools/stack';

/** The stack the global setup started; fails loudly if a stack test runs outside the `stack` project. */
export function stackInfo(): StackInfo {
  const path = process.env.TSGW_TEST_STACK;
  if (!path) throw new Error('TSGW_TEST_STACK is unset: run stack tests through jest (project "stack")');
  return JSON.parse(readFileSync(path, 'utf8')) as StackInfo;
}

/**
 * Always the harness's kubeconfig, never the default chain (which could reach a real cluster). Its
 * connections are kept alive as the operator's are: without, every request of a test, of its proxy
 * stand-ins and of its polls paid a TLS handshake on both sides.
 */
export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(stackInfo().kubeconfigPath);
  return reuseConnections(kc);
}

export async function temporalClient(
  namespace = 'default',
): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: stackInfo().temporalAddress });
  return { client: new Client({ connection, namespace }), close: () => connection.close() };
}

let counter = 0;
/** A fresh, uniquely named namespace per test (namespaces never finish deleting without a controller). */
export async function createTestNamespace(kc: KubeConfig, prefix = 'test'): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`.slice(0, 63);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`.slice(0, 63);
}
