import * as grpc from '@grpc/grpc-js';
import { BackendIndex } from '../../extension/backend-index';
import { healthCodecs } from '../../extension/codec';
import { loadExtensionConfig } from '../../extension/config';
import { HookHealth } from '../../extension/health';
import { createExtensionMetrics } from '../../extension/metrics';
import { createExtensionServer, listen } from '../../extension/server';
import { serverCredentials } from '../../extension/tls';
import { createLogger } from '../../runtime/logger';
import { makeTestPki, type TestPki } from '../support/test-certs';

function extensionServer(): grpc.Server {
  const index = new BackendIndex();
  const metrics = createExtensionMetrics({
    size: () => 0,
    ageSeconds: () => 0,
    version: () => 0,
    loaded: () => false,
  });
  return createExtensionServer({
    index,
    logger: createLogger({ level: 'error' }),
    clusterDomain: 'cluster.local',
    metrics,
    health: new HookHealth({ windowMs: 60_000, maxFailureRatio: 0.1, staleAfterMs: 600_000 }),
    maxMessageBytes: 64 * 1024,
  });
}

/** grpc.health.v1 Check over the given credentials; resolves with the status code of the call. */
function healthCheck(port: number, credentials: grpc.ChannelCredentials): Promise<grpc.status> {
  const client = new grpc.Client(`localhost:${port}`, credentials);
  return new Promise<grpc.status>((resolve) =>
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(healthCodecs.request.encode({})),
      { deadline: Date.now() + 10_000 },
      (err) => resolve(err ? err.code : grpc.status.OK),
    ),
  ).finally(() => client.close());
}

describe('extension server transport security', () => {
  let pki: TestPki;
  let rogue: TestPki;
  const servers: grpc.Server[] = [];

  beforeAll(() => {
    pki = makeTestPki(['localhost']);
    rogue = makeTestPki(['localhost'], undefined, 'rogue-ca');
  });
  afterAll(() => servers.forEach((s) => s.forceShutdown()));

  const start = async (env: Record<string, string>) => {
    const server = extensionServer();
    servers.push(server);
    return listen(server, '127.0.0.1:0', serverCredentials(loadExtensionConfig(env).tls));
  };
  const client = (p: TestPki | undefined, withCert: boolean) =>
    grpc.credentials.createSsl(
      pki.read(pki.caCert),
      withCert && p ? p.read(p.client.key) : null,
      withCert && p ? p.read(p.client.cert) : null,
    );

  it('with mutual TLS answers only clients whose certificate the configured CA signed', async () => {
    const port = await start({
      EXTENSION_TLS_CERT_FILE: pki.server.cert,
      EXTENSION_TLS_KEY_FILE: pki.server.key,
      EXTENSION_TLS_CLIENT_CA_FILE: pki.caCert,
    });
    expect(await healthCheck(port, client(pki, true))).toBe(grpc.status.OK);
    expect(await healthCheck(port, client(undefined, false))).toBe(grpc.status.UNAVAILABLE);
    expect(await healthCheck(port, client(rogue, true))).toBe(grpc.status.UNAVAILABLE);
    expect(await healthCheck(port, grpc.credentials.createInsecure())).toBe(grpc.status.UNAVAILABLE);
  });

  it('with server TLS only, encrypts but takes any client', async () => {
    const port = await start({
      EXTENSION_TLS_CERT_FILE: pki.server.cert,
      EXTENSION_TLS_KEY_FILE: pki.server.key,
    });
    expect(await healthCheck(port, client(undefined, false))).toBe(grpc.status.OK);
    expect(await healthCheck(port, grpc.credentials.createInsecure())).toBe(grpc.status.UNAVAILABLE);
  });

  it('refuses to start on half a configuration or files that do not match', () => {
    expect(() => loadExtensionConfig({ EXTENSION_TLS_CERT_FILE: pki.server.cert })).toThrow(
      /EXTENSION_TLS_KEY_FILE/,
    );
    expect(() => loadExtensionConfig({ EXTENSION_TLS_CLIENT_CA_FILE: pki.caCert })).toThrow(
      /EXTENSION_TLS_CERT_FILE/,
    );
    const mismatched = { EXTENSION_TLS_CERT_FILE: pki.server.cert, EXTENSION_TLS_KEY_FILE: pki.client.key };
    expect(() => serverCredentials(loadExtensionConfig(mismatched).tls)).toThrow(/usable certificate/);
    const missing = { EXTENSION_TLS_CERT_FILE: '/nonexistent.crt', EXTENSION_TLS_KEY_FILE: pki.server.key };
    expect(() => serverCredentials(loadExtensionConfig(missing).tls)).toThrow(/EXTENSION_TLS_CERT_FILE/);
  });
});
