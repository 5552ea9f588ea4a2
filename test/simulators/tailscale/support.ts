/** Test vocabulary for the Tailscale simulator: start one, get tokens, call the API over real HTTP. */
import type { TailscaleSimulatorAdmin } from '../../../simulators/tailscale/admin';
import {
  startTailscaleSimulator,
  type TailscaleSimulator,
  type TailscaleSimulatorOptions,
} from '../../../simulators/tailscale/server';

export interface ApiReply<T> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

/** What tests read from bodies; specific tests narrow it further. */
export type Body = { message?: string } & Record<string, unknown>;

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

export const allScopes = ['auth_keys', 'devices:core', 'services', 'oauth_keys'];

export interface SimHarness {
  sim: TailscaleSimulator;
  url: string;
  admin: TailscaleSimulatorAdmin;
  call<T = Body>(method: string, path: string, options?: CallOptions): Promise<ApiReply<T>>;
  /** A fresh OAuth client with these scopes and tags, exchanged for an access token. */
  token(scopes?: string[], tags?: string[]): Promise<string>;
  /** Registers a device the way tailscaled does, with a fresh key of these tags. */
  device(hostname: string, tags?: string[], capabilities?: Record<string, unknown>): Promise<DeviceBody>;
  close(): Promise<void>;
}

export interface DeviceBody {
  id: string;
  nodeId: string;
  name: string;
  hostname: string;
  addresses: string[];
  tags?: string[];
  authorized: boolean;
  isEphemeral: boolean;
  connectedToControl: boolean;
  lastSeen?: string;
  [field: string]: unknown;
}

export async function startSim(options: TailscaleSimulatorOptions = {}): Promise<SimHarness> {
  const sim = await startTailscaleSimulator(options);
  const call = async <T = Body>(
    method: string,
    path: string,
    opts: CallOptions = {},
  ): Promise<ApiReply<T>> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    let body: string | Buffer | undefined = opts.rawBody;
    if (body === undefined && opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(sim.url + path, { method, headers, body });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json: json as T };
  };
  const token = async (scopes = allScopes, tags = ['tag:k8s']) => {
    const client = await sim.admin.createOAuthClient({ scopes, tags });
    const reply = await call<{ access_token: string }>('POST', '/api/v2/oauth/token', {
      rawBody: new URLSearchParams({ client_id: client.id, client_secret: client.secret }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    if (reply.status !== 200) throw new Error(`token exchange failed: ${reply.status} ${reply.text}`);
    return reply.json.access_token;
  };
  const device = async (hostname: string, tags = ['tag:k8s'], capabilities: Record<string, unknown> = {}) => {
    const keyToken =
      tags.length > 0 ? await token(['auth_keys'], tags) : (await sim.admin.createApiKey()).token;
    const reply = await call<{ key: string }>('POST', '/api/v2/tailnet/-/keys', {
      token: keyToken,
      body: { capabilities: { devices: { create: { preauthorized: true, ...capabilities, tags } } } },
    });
    if (reply.status !== 200) throw new Error(`key creation failed: ${reply.status} ${reply.text}`);
    return (await sim.admin.registerDevice({ authKey: reply.json.key, hostname })) as DeviceBody;
  };
  return { sim, url: sim.url, admin: sim.admin, call, token, device, close: () => sim.close() };
}

export const vipPath = (name: string, spelling: 'vip-services' | 'services' = 'vip-services'): string =>
  `/api/v2/tailnet/-/${spelling}/${encodeURIComponent(name)}`;

/** The random fraction that makes the allocator pick exactly this IPv4 address. */
export function randomForIpv4(address: string): number {
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  const offset = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d - ((100 << 24) >>> 0) - (64 << 16);
  return (offset + 0.5) / 2 ** 22;
}

/** The random fraction that makes the allocator pick this 32-bit host part of a service IPv6. */
export const randomForIpv6Host = (host: number): number => (host + 0.5) / 2 ** 32;

/** A random source that replays `scripted` first, then falls back to Math.random. */
export function scriptedRandom(scripted: number[]): () => number {
  const queue = [...scripted];
  return () => queue.shift() ?? Math.random();
}
