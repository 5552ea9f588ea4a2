/**
 * A self-signed TLS certificate for one DNS name (P-256, ECDSA-SHA256), built with node:crypto and a
 * few lines of DER (RFC 5280), so the box needs no dependency to terminate HTTPS.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface KeyAndCert {
  /** PEM. */
  key: string;
  /** PEM. */
  cert: string;
}

const tag = (type: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  const length =
    body.length < 0x80
      ? Buffer.from([body.length])
      : body.length < 0x100
        ? Buffer.from([0x81, body.length])
        : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from([type]), length, body]);
};
const sequence = (...parts: Buffer[]) => tag(0x30, ...parts);
const oid = (dotted: string): Buffer => {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tag(0x06, Buffer.from(bytes));
};
const utcTime = (date: Date) =>
  tag(0x17, Buffer.from(`${date.toISOString().slice(2, 19).replace(/[-:T]/g, '')}Z`));
const commonName = (name: string) =>
  sequence(tag(0x31, sequence(oid('2.5.4.3'), tag(0x0c, Buffer.from(name)))));

export function selfSignedCertificate(dnsName: string, now = new Date()): KeyAndCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaWithSha256 = sequence(oid('1.2.840.10045.4.3.2'));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const subjectAltName = sequence(oid('2.5.29.17'), tag(0x04, sequence(tag(0x82, Buffer.from(dnsName)))));
  const tbs = sequence(
    tag(0xa0, tag(0x02, Buffer.from([2]))),
    tag(0x02, serial),
    ecdsaWithSha256,
    commonName(dnsName),
    sequence(
      utcTime(new Date(now.getTime() - 3_600_000)),
      utcTime(new Date(now.getTime() + 90 * 86_400_000)),
    ),
    commonName(dnsName),
    publicKey.export({ type: 'spki', format: 'der' }),
    tag(0xa3, sequence(subjectAltName)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, ecdsaWithSha256, tag(0x03, Buffer.from([0]), signature));
  const pem = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n');
  return {
    key: createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })).export({
      type: 'pkcs8',
      format: 'pem',
    }) as string,
    cert: `-----BEGIN CERTIFICATE-----\n${pem}-----END CERTIFICATE-----\n`,
  };
}
