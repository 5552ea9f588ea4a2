import { KubeConfig } from '@kubernetes/client-node';
import { reuseConnections } from '../../runtime/kube';

const kubeconfig = (server: string) => ({
  clusters: [{ name: 'c', server, skipTLSVerify: true }],
  users: [{ name: 'u', token: 't' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});

type WithAgent = { createAgent(cluster: unknown, options: Record<string, unknown>): unknown };

describe('reuseConnections', () => {
  it('hands every request to the same keep-alive agent instead of a new one per call', () => {
    const kc = new KubeConfig();
    kc.loadFromOptions(kubeconfig('https://127.0.0.1:6443'));
    const plain = kc as unknown as WithAgent;
    const cluster = kc.getCurrentCluster();
    expect(plain.createAgent(cluster, {})).not.toBe(plain.createAgent(cluster, {}));

    reuseConnections(kc);
    const first = plain.createAgent(cluster, { rejectUnauthorized: false }) as { keepAlive?: boolean };
    expect(plain.createAgent(cluster, { rejectUnauthorized: false })).toBe(first);
    expect(first.keepAlive).toBe(true);
    // Other TLS options (a rotated client certificate) get their own agent.
    expect(plain.createAgent(cluster, { rejectUnauthorized: false, cert: 'new' })).not.toBe(first);
  });
});
