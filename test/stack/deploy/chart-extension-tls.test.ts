import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { renderChart, type RenderedObject } from '../../../tools/helm';
import { createTestNamespace, stackInfo, testKubeConfig } from '../../support/stack';
import { Discovery, serverSideApply } from './kube-requests';
import { canI } from './rbac';

interface ExtensionTls {
  certificateRef: { name: string; namespace: string };
  clientCertificateRef?: { name: string; namespace: string };
}
interface Container {
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string } }[];
}

const release = 'tls';
const byKind = (objects: RenderedObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: RenderedObject[], kind: string, name: string) =>
  byKind(objects, kind).find((o) => o.metadata.name === name);
const pem = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString();
const secretData = (objects: RenderedObject[], name: string) =>
  (named(objects, 'Secret', name)?.data ?? {}) as Record<string, string>;

/** The extensionManager.service block rendered for Envoy Gateway's Helm values. */
function egService(objects: RenderedObject[]): { fqdn: { hostname: string }; tls?: ExtensionTls } {
  const cm = byKind(objects, 'ConfigMap').find((c) => c.metadata.name.endsWith('envoy-gateway-values'));
  const values = parse((cm?.data as Record<string, string>)['envoy-gateway-values.yaml'] ?? '') as {
    config: {
      envoyGateway: { extensionManager: { service: { fqdn: { hostname: string }; tls?: ExtensionTls } } };
    };
  };
  return values.config.envoyGateway.extensionManager.service;
}

function extensionPod(objects: RenderedObject[]): PodSpec {
  const d = byKind(objects, 'Deployment').find((o) => o.metadata.name.endsWith('-extension'));
  return (d as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
}

/** The file each EXTENSION_TLS_* variable names, and the Secret mounted where that file lives. */
function tlsFiles(pod: PodSpec): {
  env: Record<string, string>;
  secretAt: (file: string) => string | undefined;
} {
  const container = pod.containers[0]!;
  const env = Object.fromEntries(
    (container.env ?? [])
      .filter((e) => e.name.startsWith('EXTENSION_TLS_'))
      .map((e) => [e.name, e.value ?? '']),
  );
  const secretAt = (file: string) => {
    const mount = container.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
    return pod.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName;
  };
  return { env, secretAt };
}

describe('the chart secures Envoy Gateway -> extension server with TLS (mutual by default)', () => {
  let namespace: string;

  beforeAll(async () => {
    namespace = await createTestNamespace(testKubeConfig(), 'chart-tls');
  });

  it('generates a CA, a server certificate for the name Envoy Gateway dials and a client certificate, and wires both sides', async () => {
    const objects = await renderChart({ release, namespace });
    const service = egService(objects);
    const tls = service.tls!;
    expect(tls.certificateRef.namespace).toBe(namespace);
    expect(tls.clientCertificateRef?.namespace).toBe(namespace);

    const ca = new X509Certificate(pem(secretData(objects, tls.certificateRef.name)['tls.crt']));
    expect(ca.ca).toBe(true);
    const { env, secretAt } = tlsFiles(extensionPod(objects));
    const serverSecret = secretAt(env.EXTENSION_TLS_CERT_FILE ?? '')!;
    expect(secretAt(env.EXTENSION_TLS_KEY_FILE ?? '')).toBe(serverSecret);
    expect(secretAt(env.EXTENSION_TLS_CLIENT_CA_FILE ?? '')).toBe(serverSecret);
    const server = secretData(objects, serverSecret);
    const serverCert = new X509Certificate(pem(server['tls.crt']));
    expect(serverCert.verify(ca.publicKey)).toBe(true);
    expect(serverCert.checkHost(service.fqdn.hostname)).toBe(service.fqdn.hostname);
    const keyOf = (b64: string | undefined) =>
      createPublicKey(createPrivateKey(pem(b64))).export({ type: 'spki', format: 'der' });
    expect(keyOf(server['tls.key'])).toEqual(serverCert.publicKey.export({ type: 'spki', format: 'der' }));
    // The server checks client certificates against ca.crt of its own Secret: the same CA.
    expect(pem(server['ca.crt'])).toBe(ca.toString());

    const client = secretData(objects, tls.clientCertificateRef!.name);
    const clientCert = new X509Certificate(pem(client['tls.crt']));
    expect(clientCert.verify(ca.publicKey)).toBe(true);
    expect(keyOf(client['tls.key'])).toEqual(clientCert.publicKey.export({ type: 'spki', format: 'der' }));
    expect(clientCert.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
  });

  it('keeps generated certificates across upgrades: a render against the installed Secrets reuses them', async () => {
    const kc = testKubeConfig();
    const discovery = new Discovery(kc);
    const first = await renderChart({ release, namespace });
    const refs = egService(first).tls!;
    const names: string[] = [refs.certificateRef.name, refs.clientCertificateRef!.name];
    names.push(tlsFiles(extensionPod(first)).secretAt('/etc/tsgw/extension-tls/tls.crt')!);
    for (const name of names) {
      const res = await serverSideApply(kc, discovery, named(first, 'Secret', name)!, {
        namespace,
        dryRun: false,
      });
      expect(res.status).toBeLessThan(300);
    }
    const upgrade = await renderChart({ release, namespace, kubeconfig: stackInfo().kubeconfigPath });
    const fresh = await renderChart({ release, namespace });
    for (const name of names) {
      expect(secretData(upgrade, name)).toEqual(secretData(first, name));
      // Without the installed ones each render issues a new set, so the equality above is lookup's doing.
      expect(secretData(fresh, name)['tls.crt']).not.toEqual(secretData(first, name)['tls.crt']);
    }
  });

  it("lets Envoy Gateway's ServiceAccount get the CA and its client certificate here, and not the server's key", async () => {
    const kc = testKubeConfig();
    const discovery = new Discovery(kc);
    const objects = await renderChart({ release, namespace });
    for (const obj of objects.filter(
      (o) => ['Role', 'RoleBinding'].includes(o.kind) && o.metadata.name.includes('tls'),
    )) {
      const res = await serverSideApply(kc, discovery, obj, { namespace, dryRun: false });
      expect(res.status).toBeLessThan(300);
    }
    const eg = { namespace: 'envoy-gateway-system', name: 'envoy-gateway' };
    const tls = egService(objects).tls!;
    const get = (name: string) =>
      canI(kc, eg, { group: '', resource: 'secrets', verb: 'get', namespace, name });
    expect(await get(tls.certificateRef.name)).toBe(true);
    expect(await get(tls.clientCertificateRef!.name)).toBe(true);
    expect(await get(tlsFiles(extensionPod(objects)).secretAt('/etc/tsgw/extension-tls/tls.key')!)).toBe(
      false,
    );
  });

  it('uses cert-manager when its API is served: Issuers and Certificates instead of Secrets, same names', async () => {
    const objects = await renderChart({ release, namespace, apiVersions: ['cert-manager.io/v1'] });
    expect(byKind(objects, 'Secret').filter((s) => s.metadata.name.includes('extension'))).toEqual([]);
    const tls = egService(objects).tls!;
    type Cert = RenderedObject & {
      spec: {
        secretName: string;
        isCA?: boolean;
        dnsNames?: string[];
        usages?: string[];
        issuerRef: { name: string };
      };
    };
    const certs = byKind(objects, 'Certificate') as Cert[];
    const bySecret = (name: string) => certs.find((c) => c.spec.secretName === name);
    const ca = bySecret(tls.certificateRef.name)!;
    expect(ca.spec.isCA).toBe(true);
    const { env, secretAt } = tlsFiles(extensionPod(objects));
    const server = bySecret(secretAt(env.EXTENSION_TLS_CERT_FILE ?? '')!)!;
    expect(server.spec.dnsNames).toContain(egService(objects).fqdn.hostname);
    expect(server.spec.usages).toContain('server auth');
    const client = bySecret(tls.clientCertificateRef!.name)!;
    expect(client.spec.usages).toContain('client auth');
    // Server and client certificates come from the CA issuer, whose CA is the Certificate EG trusts.
    const caIssuer = byKind(objects, 'Issuer').find(
      (i) => (i.spec as { ca?: { secretName: string } }).ca?.secretName === ca.spec.secretName,
    );
    expect([server.spec.issuerRef.name, client.spec.issuerRef.name]).toEqual([
      caIssuer?.metadata.name,
      caIssuer?.metadata.name,
    ]);

    const forced = await renderChart({
      release,
      namespace,
      apiVersions: ['cert-manager.io/v1'],
      set: ['extension.tls.certManager=false'],
    });
    expect(byKind(forced, 'Certificate')).toEqual([]);
    expect(named(forced, 'Secret', tls.certificateRef.name)).toBeDefined();
  });

  it('mutual: false keeps server TLS without client certificates; enabled: false is plaintext', async () => {
    const serverOnly = await renderChart({ release, namespace, set: ['extension.tls.mutual=false'] });
    expect(Object.keys(egService(serverOnly).tls ?? {})).toEqual(['certificateRef']);
    expect(Object.keys(tlsFiles(extensionPod(serverOnly)).env).sort()).toEqual([
      'EXTENSION_TLS_CERT_FILE',
      'EXTENSION_TLS_KEY_FILE',
    ]);
    const plain = await renderChart({ release, namespace, set: ['extension.tls.enabled=false'] });
    expect(egService(plain).tls).toBeUndefined();
    expect(tlsFiles(extensionPod(plain)).env).toEqual({});
    expect(byKind(plain, 'Secret').filter((s) => s.metadata.name.includes('extension'))).toEqual([]);
  });
});
