/**
 * Throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for the names the
 * client dials, and a client certificate the CA signed, each as PEM files in one directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  /** PEM contents of a file above. */
  read(path: string): Buffer;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

function selfSignedCa(dir: string, name: string): void {
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'].concat([
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ]),
    dir,
  );
}

function signed(dir: string, ca: string, name: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`].concat([
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]),
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
    ].concat(['-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.crt`]),
    dir,
  );
}

/** serverNames: DNS names the server certificate covers (127.0.0.1 is always in it). */
export function makeTestPki(serverNames: string[], parent = tmpdir(), caName = 'test-ca'): TestPki {
  const dir = mkdtempSync(join(parent, 'pki-'));
  selfSignedCa(dir, caName);
  const san = ['IP:127.0.0.1', ...serverNames.map((n) => `DNS:${n}`)].join(',');
  signed(dir, caName, 'server', `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  signed(dir, caName, 'client', 'extendedKeyUsage=clientAuth\n');
  const at = (f: string) => join(dir, f);
  return {
    dir,
    caCert: at(`${caName}.crt`),
    server: { cert: at('server.crt'), key: at('server.key') },
    client: { cert: at('client.crt'), key: at('client.key') },
    read: (path) => readFileSync(path),
  };
}
