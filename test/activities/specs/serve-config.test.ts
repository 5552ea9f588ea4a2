import {
  serveConfigOf,
  serviceServeConfig,
  uncoveredVipPorts,
  type ServiceServeInput,
} from '../../../activities/specs/serve-config';

const input = (over: Partial<ServiceServeInput> = {}): ServiceServeInput => ({
  vipService: 'svc:web',
  dnsSuffix: 'tail0622b6.ts.net',
  vipPorts: ['tcp:443'],
  backend: { serviceName: 'web', ports: [{ port: 443, servicePort: 80, mode: 'https' }] },
  service: { clusterIP: '10.96.0.15', ports: [{ name: 'http', port: 80 }] },
  ...over,
});

describe('serve config for a VIP service (ipn.ServeConfig.Services)', () => {
  it('forwards a tcp port to ClusterIP:port, as Tailscale writes it', () => {
    const result = serviceServeConfig(
      input({
        vipService: 'svc:db',
        vipPorts: ['tcp:5432'],
        backend: { serviceName: 'db', ports: [{ port: 5432, servicePort: 5432, mode: 'tcp' }] },
        service: { clusterIP: '10.96.12.34', ports: [{ port: 5432 }] },
      }),
    );
    expect(result.ok).toBe(true);
    expect(JSON.stringify(serveConfigOf({ 'svc:db': result.ok ? result.config : {} }))).toBe(
      '{"Services":{"svc:db":{"TCP":{"5432":{"TCPForward":"10.96.12.34:5432"}}}}}',
    );
  });

  it('terminates HTTPS on <label>.<suffix>:443 and proxies to the backend, as ingress-for-pg does', () => {
    const result = serviceServeConfig(input());
    expect(result.ok && serveConfigOf({ 'svc:web': result.config })).toEqual({
      Services: {
        'svc:web': {
          TCP: { '443': { HTTPS: true } },
          Web: { 'web.tail0622b6.ts.net:443': { Handlers: { '/': { Proxy: 'http://10.96.0.15:80/' } } } },
        },
      },
    });
  });

  it('proxies plain HTTP with the HTTP flag, mixes modes, and resolves ports by name', () => {
    const result = serviceServeConfig(
      input({
        vipPorts: ['tcp:80', 'tcp:443', 'tcp:9000'],
        backend: {
          serviceName: 'web',
          ports: [
            { port: 9000, servicePort: 'grpc' },
            { port: 80, servicePort: 'http', mode: 'http' },
            { port: 443, servicePort: 'https', mode: 'https' },
          ],
        },
        service: {
          clusterIP: 'fd00::15',
          ports: [
            { name: 'http', port: 8080 },
            { name: 'https', port: 8443 },
            { name: 'grpc', port: 9090 },
          ],
        },
      }),
    );
    expect(result).toEqual({
      ok: true,
      config: {
        TCP: { '80': { HTTP: true }, '443': { HTTPS: true }, '9000': { TCPForward: '[fd00::15]:9090' } },
        Web: {
          'web.tail0622b6.ts.net:80': { Handlers: { '/': { Proxy: 'http://[fd00::15]:8080/' } } },
          // A port named https is spoken to in TLS, unverified, as Tailscale's operator does.
          'web.tail0622b6.ts.net:443': { Handlers: { '/': { Proxy: 'https+insecure://[fd00::15]:8443/' } } },
        },
      },
    });
  });

  it('says what to fix when the Service lacks the port, has no cluster IP, or a VIP port is unmapped', () => {
    const missing = serviceServeConfig(
      input({ backend: { serviceName: 'web', ports: [{ port: 443, servicePort: 'metrics' }] } }),
    );
    expect(missing).toEqual({
      ok: false,
      reason: 'BackendPortNotFound',
      problem: expect.stringContaining('Service web has no port "metrics" (it has http=80)') as string,
    });
    const headless = serviceServeConfig(input({ service: { clusterIP: 'None', ports: [{ port: 80 }] } }));
    expect(headless.ok || headless.problem).toMatch(/no cluster IP/);
    expect(headless.ok || headless.reason).toBe('InvalidBackend');
    const range = serviceServeConfig(
      input({
        vipPorts: ['tcp:443', 'tcp:8000-8001'],
        backend: {
          serviceName: 'web',
          ports: [
            { port: 443, servicePort: 80, mode: 'https' },
            { port: 8000, servicePort: 80 },
          ],
        },
      }),
    );
    expect(range.ok || range.problem).toMatch(/tcp:8000-8001 \(e\.g\. 8001\)/);
    const extra = serviceServeConfig(
      input({
        backend: {
          serviceName: 'web',
          ports: [
            { port: 443, servicePort: 80 },
            { port: 8443, servicePort: 80 },
          ],
        },
      }),
    );
    expect(extra.ok || extra.problem).toMatch(/backend.ports 8443 are not in vipService.ports/);
  });

  it('counts a range as covered only when each of its ports is mapped', () => {
    expect(uncoveredVipPorts(['tcp:1-3', 'tcp:7', 'do-not-validate'], [1, 2, 3])).toEqual(['tcp:7']);
    expect(uncoveredVipPorts(['tcp:1-3'], [1, 3])).toEqual(['tcp:1-3 (e.g. 2)']);
  });

  it('sorts services so that the file is byte-stable', () => {
    const a = serveConfigOf({ 'svc:b': { Tun: true }, 'svc:a': { Tun: true } });
    expect(Object.keys(a.Services!)).toEqual(['svc:a', 'svc:b']);
  });
});
