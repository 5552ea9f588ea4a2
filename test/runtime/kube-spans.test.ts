import { kubePathTemplate } from '../../runtime/kube-spans';

describe('kubePathTemplate', () => {
  it.each([
    ['/api/v1/namespaces/team-a/secrets/oauth', '/api/v1/namespaces/{namespace}/secrets/{name}'],
    ['/api/v1/namespaces/team-a', '/api/v1/namespaces/{namespace}'],
    ['/api/v1/namespaces', '/api/v1/namespaces'],
    [
      '/apis/gateway.tailscale.com/v1alpha1/namespaces/team-a/tailscaleservices/web/status',
      '/apis/gateway.tailscale.com/v1alpha1/namespaces/{namespace}/tailscaleservices/{name}/status',
    ],
    [
      '/apis/gateway.tailscale.com/v1alpha1/tailscaletailnets/corp',
      '/apis/gateway.tailscale.com/v1alpha1/tailscaletailnets/{name}',
    ],
    [
      '/apis/events.k8s.io/v1/namespaces/team-a/events?limit=5',
      '/apis/events.k8s.io/v1/namespaces/{namespace}/events',
    ],
    ['/version', '/version'],
  ])('%s → %s', (path, template) => {
    expect(kubePathTemplate(path)).toBe(template);
  });
});
