/**
 * Transport credentials of the gRPC server: plaintext, server TLS, or mutual TLS where a client must
 * present a certificate the configured CA signed (Envoy Gateway's clientCertificateRef). With mutual TLS
 * the PEM files are re-read periodically, so a certificate cert-manager renews in place is picked up
 * without a restart; server-only TLS reads them once.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../runtime/config';
import type { ExtensionTlsConfig } from './config';

/** How often mounted certificate files are re-read (a renewed Secret reaches the pod within ~1 min). */
export const certificateRefreshMs = 60_000;

export function serverCredentials(tls: ExtensionTlsConfig | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const cert = read(tls.certFile, 'EXTENSION_TLS_CERT_FILE');
  const key = read(tls.keyFile, 'EXTENSION_TLS_KEY_FILE');
  const ca = tls.clientCaFile ? read(tls.clientCaFile, 'EXTENSION_TLS_CLIENT_CA_FILE') : undefined;
  try {
    // Fails now, naming the problem, rather than at the first handshake.
    createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new ConfigError(`extension TLS files do not form a usable certificate: ${(err as Error).message}`);
  }
  if (!ca) return grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
  const files = new PemFiles(tls.certFile, tls.keyFile, tls.clientCaFile!, { cert, key, ca });
  // One provider serves both the CA and the identity, which also keeps this independent of the
  // argument order (grpc-js 1.14 swaps the two between the factory and the constructor).
  return grpc.experimental.createCertificateProviderServerCredentials(files, files, true);
}

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/**
 * The certificate, key and client CA as grpc-js certificate updates. Loaded before the server binds and
 * handed over on the next tick, when grpc-js has registered the listening socket (its own file watcher reads
 * asynchronously and the server drops connections until it has), re-read every
 * certificateRefreshMs while the server listens, and announced only when their contents change.
 */
class PemFiles implements grpc.experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly certFile: string,
    private readonly keyFile: string,
    private readonly caFile: string,
    private current: { cert: Buffer; key: Buffer; ca: Buffer },
  ) {}

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(listener, { caCertificate: this.current.ca });
    this.watch();
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.watch();
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(listener, { certificate: this.current.cert, privateKey: this.current.key });
    this.watch();
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.watch();
  }

  private watch(): void {
    const listening = this.caListeners.size + this.identityListeners.size > 0;
    if (listening && !this.timer) {
      this.timer = setInterval(() => this.reload(), certificateRefreshMs);
      this.timer.unref();
    } else if (!listening && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** A half-written or mismatched set (mid-rotation) keeps the previous one until the next pass. */
  private reload(): void {
    let next: { cert: Buffer; key: Buffer; ca: Buffer };
    try {
      next = {
        cert: readFileSync(this.certFile),
        key: readFileSync(this.keyFile),
        ca: readFileSync(this.caFile),
      };
      createSecureContext(next);
    } catch {
      return;
    }
    const { cert, key, ca } = this.current;
    if (next.cert.equals(cert) && next.key.equals(key) && next.ca.equals(ca)) return;
    this.current = next;
    for (const l of this.caListeners) l({ caCertificate: next.ca });
    for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
  }
}

function read(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${path}: ${(err as Error).message}`);
  }
}
