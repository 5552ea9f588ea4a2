import { randomBytes } from 'node:crypto';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlphanumeric(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

function randomDigits(length: number): string {
  const bytes = randomBytes(length);
  let out = String(1 + (bytes[0]! % 9));
  for (const byte of bytes.subarray(1)) out += String(byte % 10);
  return out;
}

// Shapes follow the real API: stable IDs end in CNTRL, secrets are `tskey-<kind>-<id>-<random>`.
export const newTailnetId = (): string => `T${randomAlphanumeric(10)}CNTRL`;
export const newNodeId = (): string => `n${randomAlphanumeric(10)}CNTRL`;
export const newKeyId = (): string => `k${randomAlphanumeric(10)}CNTRL`;
export const newLegacyDeviceId = (): string => randomDigits(16);
export const newSecret = (kind: 'api' | 'auth' | 'client', id: string): string =>
  `tskey-${kind}-${id}-${randomAlphanumeric(32)}`;
export const newHexKey = (prefix: string): string => `${prefix}:${randomBytes(32).toString('hex')}`;
export const newDnsSuffix = (): string => `tail${randomBytes(3).toString('hex')}.ts.net`;

/** A small seeded PRNG (mulberry32) so address allocation and fault rates can be made reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
