/** The box's pure parts (no kube): address rule, config decoding, file location, web routing, sockets. */
import { request } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import type { V1PodSpec } from '@kubernetes/client-node';
import { loopbackFor } from '../../../simulators/proxy/dataplane/addresses';
import { loadEgressConfigs } from '../../../simulators/proxy/dataplane/egress-config';
import { locateFile } from '../../../simulators/proxy/dataplane/proxy-files';
import { ProxyConfigRefused } from '../../../simulators/proxy/dataplane/refused';
import { selfSignedCertificate } from '../../../simulators/proxy/dataplane/self-signed';
import { loadServeConfig } from '../../../simulators/proxy/dataplane/serve-config';
import { forward, halfOpenServer } from '../../../simulators/proxy/dataplane/tcp-pipe';
import { resolveTailnetTarget, viewOf } from '../../../simulators/proxy/dataplane/tailnet-view';
import { handlerFor, joinPaths, proxyTarget } from '../../../simulators/proxy/dataplane/web-handlers';
import { podIPOf } from '../../../simulators/proxy/pods';
import { startTailscaleSimulator } from '../../../simulators/tailscale/server';
import { startEchoServer, type EchoAnswer } from '../../../tools/echo-server';

const serve = (text: string | undefined, locked = false) =>
  loadServeConfig('/etc/proxies/serve-config.json', text, {
    certDomain: 'proxy-0.tail1.ts.net',
    tailscaledConfigLocked: locked,
  });

describe('loopbackFor: the box reaches a.b.c.d at 127.b.c.d', () => {
  test.each([
    ['100.64.1.2', '127.64.1.2'],
    ['100.127.255.254', '127.127.255.254'],
    ['10.244.7.9', '127.244.7.9'],
    ['10.250.0.1', '127.250.0.1'],
  ])('%s → %s', (ip, loopback) => expect(loopbackFor(ip)).toBe(loopback));

  test('pod IPs are 10.244.x.y and land on 127.244.x.y; distinct per pod name', () => {
    const a = podIPOf('tailscale', 'web-0');
    const b = podIPOf('tailscale', 'db-0');
    expect(a).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(loopbackFor(a)).toBe(a.replace(/^10\./, '127.'));
    expect(a).not.toBe(b);
  });

  test('no IPv6 or names', () => {
    expect(() => loopbackFor('fd7a:115c:a1e0::1')).toThrow(/only IPv4/);
    expect(() => loopbackFor('web.default.svc')).toThrow(/only IPv4/);
  });
});

// Messages as Go's encoding/json gives them (checked with tools/tailscale-config-check on the same files).
describe('serve config: json.Unmarshal into ipn.ServeConfig, then SetServeConfig', () => {
  test('decodes the reference shapes; unknown fields ignored, keys matched case-insensitively', () => {
    const config = serve(
      JSON.stringify({
        services: {
          'svc:web': {
            tcp: { '443': { HTTPS: true, Future: 1 } },
            Web: { 'web.tail1.ts.net:443': { Handlers: { '/': { Proxy: 'http://10.96.0.15:80/' } } } },
          },
          'svc:db': { TCP: { '5432': { TCPForward: '10.96.12.34:5432' } } },
        },
        NotAField: { x: 1 },
      }),
    );
    expect(config).toEqual({
      Services: {
        'svc:web': {
          TCP: { '443': { HTTPS: true } },
          Web: { 'web.tail1.ts.net:443': { Handlers: { '/': { Proxy: 'http://10.96.0.15:80/' } } } },
        },
        'svc:db': { TCP: { '5432': { TCPForward: '10.96.12.34:5432' } } },
      },
    });
  });

  test('a missing or empty file is nothing to apply; ${TS_CERT_DOMAIN} is the device name', () => {
    expect(serve(undefined)).toBeUndefined();
    expect(serve('')).toBeUndefined();
    expect(serve('{"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{}}}}')).toEqual({
      Web: { 'proxy-0.tail1.ts.net:443': { Handlers: {} } },
    });
  });

  test.each([
    ['not JSON', '{"Services":', /failed to read serve config: .*unexpected end of JSON input/],
    [
      'a string where a bool goes',
      '{"Services":{"svc:a":{"TCP":{"80":{"HTTP":"yes"}}}}}',
      /cannot unmarshal string into Go struct field TCPPortHandler\.Services\.TCP\.HTTP of type bool/,
    ],
    [
      'a port that is no uint16',
      '{"TCP":{"http":{"HTTP":true}}}',
      /cannot unmarshal number http into Go struct field ServeConfig\.TCP of type uint16/,
    ],
    [
      'Tun mixed with TCP',
      '{"Services":{"svc:a":{"Tun":true,"TCP":{"80":{"HTTP":true}}}}}',
      /error updating serve config: cannot set TUN mode/,
    ],
  ])('refuses %s', (_what, text, message) => {
    expect(() => serve(text)).toThrow(ProxyConfigRefused);
    expect(() => serve(text)).toThrow(message);
  });

  test('a locked tailscaled config refuses any serve config', () => {
    expect(() => serve('{}', true)).toThrow(
      'serve proxy: error updating serve config: config file is locked',
    );
  });
});

describe('egress config: egressservices.Configs', () => {
  const path = '/etc/proxies/egress-services';
  test('decodes the reference shape; ports are a set', () => {
    const port = { protocol: 'TCP', matchPort: 10123, targetPort: 5432 };
    expect(
      loadEgressConfigs(
        path,
        JSON.stringify({
          'default-db': {
            healthCheckEndpoint: 'http://ts-db-abcde.tailscale.svc.cluster.local:9002/healthz',
            tailnetTarget: { ip: '', fqdn: 'db.tail1.ts.net' },
            ports: [port, port],
            extra: true,
          },
        }),
      ),
    ).toEqual({
      'default-db': {
        healthCheckEndpoint: 'http://ts-db-abcde.tailscale.svc.cluster.local:9002/healthz',
        tailnetTarget: { ip: '', fqdn: 'db.tail1.ts.net' },
        ports: [port],
      },
    });
  });

  test('refuses ports that are not a list, or a port out of range', () => {
    expect(() => loadEgressConfigs(path, '{"a":{"ports":{}}}')).toThrow(
      /cannot unmarshal object into Go struct field Config\.ports of type \[\]egressservices\.PortMap/,
    );
    expect(() => loadEgressConfigs(path, '{"a":{"ports":[{"matchPort":70000}]}}')).toThrow(
      /cannot unmarshal number 70000 into Go struct field Config\.ports\.matchPort of type uint16/,
    );
  });
});

describe('locating a file: the configMap volume mounted at its directory', () => {
  const spec = (items?: { key: string; path: string }[]): V1PodSpec => ({
    containers: [{ name: 'tailscale', volumeMounts: [{ name: 'proxies', mountPath: '/etc/proxies' }] }],
    volumes: [{ name: 'proxies', configMap: { name: 'web-proxies', optional: true, items } }],
  });
  test('key = file name; `items` remaps; no mount, no file', () => {
    expect(locateFile(spec(), '/etc/proxies/serve-config.json')).toEqual({
      configMap: 'web-proxies',
      key: 'serve-config.json',
    });
    expect(
      locateFile(spec([{ key: 'serve', path: 'serve-config.json' }]), '/etc/proxies/serve-config.json'),
    ).toEqual({
      configMap: 'web-proxies',
      key: 'serve',
    });
    expect(locateFile(spec(), '/etc/other/serve-config.json')).toBeUndefined();
    expect(locateFile({ containers: [{ name: 'tailscale' }] }, '/etc/proxies/x')).toBeUndefined();
  });
});

describe('web handlers', () => {
  const web = { Handlers: { '/': { Text: 'root' }, '/api': { Text: 'api' }, '/api/v2/': { Text: 'v2' } } };
  test.each([
    ['/', '/'],
    ['/x', '/'],
    ['/api', '/api'],
    ['/api/x', '/api'],
    ['/apix', '/'],
    ['/api/v2', '/api/v2/'],
    ['/api/v2/y', '/api/v2/'],
  ])('%s is served by mount %s', (path, mount) => expect(handlerFor(web, path)?.mount).toBe(mount));

  test('Proxy values: port, host:port, URL, https+insecure', () => {
    expect(proxyTarget('8080')?.url.href).toBe('http://127.0.0.1:8080/');
    expect(proxyTarget('10.96.0.15:8080')?.url.href).toBe('http://10.96.0.15:8080/');
    expect(proxyTarget('https+insecure://10.96.0.15:443/base')).toMatchObject({ insecure: true });
    expect(proxyTarget('https+insecure://10.96.0.15:443/base')?.url.href).toBe('https://10.96.0.15/base');
    expect(joinPaths('/base/', '/x')).toBe('/base/x');
    expect(joinPaths('/base', 'x')).toBe('/base/x');
  });
});

describe('tailnet targets', () => {
  test('an IP as given; a device by MagicDNS name or hostname; a VIP service only while a host serves it', async () => {
    const sim = await startTailscaleSimulator({ dnsSuffix: 'tail1.ts.net' });
    try {
      const client = await sim.admin.createOAuthClient({
        scopes: ['auth_keys', 'devices:core', 'services'],
        tags: ['tag:k8s'],
      });
      const token = (await (
        await fetch(`${sim.url}/api/v2/oauth/token`, {
          method: 'POST',
          body: new URLSearchParams({ client_id: client.id, client_secret: client.secret }),
        })
      ).json()) as { access_token: string };
      const auth = { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' };
      const key = (await (
        await fetch(`${sim.url}/api/v2/tailnet/-/keys`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({
            capabilities: { devices: { create: { reusable: true, preauthorized: true, tags: ['tag:k8s'] } } },
          }),
        })
      ).json()) as { key: string };
      const db = await sim.admin.registerDevice({ authKey: key.key, hostname: 'db' });
      const host = await sim.admin.registerDevice({ authKey: key.key, hostname: 'web-0' });
      await fetch(`${sim.url}/api/v2/tailnet/-/vip-services/svc:web`, {
        method: 'PUT',
        headers: auth,
        body: JSON.stringify({ name: 'svc:web', ports: ['tcp:443'], tags: ['tag:k8s'] }),
      });
      const view = () => sim.admin.dumpState().then((d) => viewOf(d.tailnets[0]!));
      const dbIp = db.addresses[0]!;
      expect(resolveTailnetTarget(await view(), { ip: '100.100.1.1' })).toBe('100.100.1.1');
      expect(resolveTailnetTarget(await view(), { fqdn: 'db.tail1.ts.net.' })).toBe(dbIp);
      expect(resolveTailnetTarget(await view(), { fqdn: 'db' })).toBe(dbIp);
      expect(resolveTailnetTarget(await view(), { fqdn: 'web.tail1.ts.net' })).toBeUndefined();
      await sim.admin.advertiseServices({ nodeId: host.nodeId, services: ['svc:web'] });
      expect(resolveTailnetTarget(await view(), { fqdn: 'web.tail1.ts.net' })).toBeUndefined();
      await fetch(`${sim.url}/api/v2/tailnet/-/services/svc:web/device/${host.nodeId}/approved`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ approved: true }),
      });
      const vip = (await view()).services[0]!.vipv4;
      expect(resolveTailnetTarget(await view(), { fqdn: 'web.tail1.ts.net' })).toBe(vip);
    } finally {
      await sim.close();
    }
  });
});

describe('real sockets', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  const roundTrip = (host: string, port: number, text: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ host, port }, () => socket.end(text));
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });

  test('the echo server answers HTTP with JSON and echoes raw TCP', async () => {
    const echo = await startEchoServer({ name: 'web', http: '127.250.0.1:0', tcp: '127.250.0.1:0' });
    try {
      const [host, port] = echo.http!.split(':');
      const answer = await new Promise<EchoAnswer>((resolve, reject) => {
        const req = request(
          { host, port: Number(port), method: 'POST', path: '/p?q=1', headers: { host: 'web.example' } },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(JSON.parse(body) as EchoAnswer));
          },
        );
        req.on('error', reject);
        req.end('body');
      });
      expect(answer).toMatchObject({ server: 'web', method: 'POST', path: '/p?q=1', host: 'web.example' });
      const [tcpHost, tcpPort] = echo.tcp!.split(':');
      expect(await roundTrip(tcpHost!, Number(tcpPort), 'ping')).toBe('ping');
    } finally {
      await echo.close();
    }
  });

  test('a forwarded connection skips an address that refuses and reaches the next', async () => {
    const echo = await startEchoServer({ name: 'tcp', tcp: '127.250.0.2:0' });
    // A port that was just free: nothing listens there, so connecting is refused.
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.250.0.3', r));
    const deadPort = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const front = halfOpenServer((socket) => {
      void forward(socket, [
        { host: '127.250.0.3', port: deadPort },
        { host: '127.250.0.2', port: Number(echo.tcp!.split(':')[1]) },
      ]);
    });
    servers.push(front);
    await new Promise<void>((r) => front.listen(0, '127.250.0.4', r));
    try {
      expect(await roundTrip('127.250.0.4', (front.address() as { port: number }).port, 'hello')).toBe(
        'hello',
      );
    } finally {
      await echo.close();
    }
  });

  test('the self-signed certificate names the service and completes a TLS handshake', async () => {
    const { key, cert } = selfSignedCertificate('web.tail1.ts.net');
    const x509 = new X509Certificate(cert);
    expect(x509.checkHost('web.tail1.ts.net')).toBe('web.tail1.ts.net');
    expect(x509.verify(x509.publicKey)).toBe(true);
    const server = createTlsServer({ key, cert }, (s) => s.end('over tls'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.250.0.5', r));
    const got = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.250.0.5',
        port: (server.address() as { port: number }).port,
        servername: 'web.tail1.ts.net',
        ca: cert,
      });
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(got).toBe('over tls');
  });
});
