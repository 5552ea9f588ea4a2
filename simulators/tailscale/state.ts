/**
 * The in-memory tailnet model behind the simulator, and its dump/load to a JSON file so the local
 * default keeps its tailnets, credentials, devices and services across restarts.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { canonicalIpv6 } from './addresses';
import { newDnsSuffix, newTailnetId } from './ids';

export interface OAuthClientRecord {
  id: string;
  secret: string;
  scopes: string[];
  tags: string[];
  description: string;
  created: number;
}

/** An API access token: minted from an OAuth client (clientId set) or a user API key (clientId null). */
export interface AccessTokenRecord {
  token: string;
  tailnetId: string;
  clientId: string | null;
  scopes: string[];
  tags: string[];
  issued: number;
  expiresAt: number;
}

export interface AuthKeyRecord {
  id: string;
  secret: string;
  created: number;
  expiresAt: number;
  expirySeconds: number;
  reusable: boolean;
  ephemeral: boolean;
  preauthorized: boolean;
  tags: string[];
  description: string;
  /** OAuth client ID that created it, or null for a user API key. */
  createdBy: string | null;
  uses: number;
  revokedAt: number | null;
}

export interface DeviceRecord {
  id: string;
  nodeId: string;
  hostname: string;
  /** First label of the MagicDNS name: the hostname made DNS-safe and unique in the tailnet. */
  dnsLabel: string;
  os: string;
  clientVersion: string;
  user: string;
  created: number;
  addresses: [string, string];
  tags: string[];
  authorized: boolean;
  isEphemeral: boolean;
  keyExpiryDisabled: boolean;
  keyExpiresAt: number | null;
  connected: boolean;
  lastSeen: number | null;
  machineKey: string;
  nodeKey: string;
  tailnetLockKey: string;
  advertisedRoutes: string[];
  enabledRoutes: string[];
  /** Service name -> `configured` value reported in the service's host list. */
  advertisedServices: Record<string, string>;
  authKeyId: string;
}

export interface VipServiceRecord {
  name: string;
  addrs: [string, string];
  displayName?: string;
  comment?: string;
  annotations?: Record<string, string>;
  ports?: string[];
  tags?: string[];
  /** Manual host approvals by nodeId; not part of the API object, so a PUT never clears them. */
  approvals: Record<string, boolean>;
}

export interface TailnetSettings {
  /** Off: every services route answers 404, like a tailnet without the feature. */
  servicesEnabled: boolean;
  /** On: devices from keys that are not preauthorized join unauthorized. */
  devicesApprovalOn: boolean;
}

export interface TailnetPolicy {
  /** `autoApprovers.services`: service name or service tag -> device tags whose hosts are auto-approved. */
  autoApprovers: { services: Record<string, string[]> };
  /** Tag -> owners (tags); an OAuth client may use a tag it holds or one its tags own. */
  tagOwners: Record<string, string[]>;
}

export interface TailnetRecord {
  id: string;
  name: string;
  dnsSuffix: string;
  settings: TailnetSettings;
  policy: TailnetPolicy;
  oauthClients: Map<string, OAuthClientRecord>;
  authKeys: Map<string, AuthKeyRecord>;
  devices: Map<string, DeviceRecord>;
  vipServices: Map<string, VipServiceRecord>;
  /** dnsLabel -> nodeId, for name clashes between services and devices. */
  deviceLabels: Map<string, string>;
}

export interface TailnetDump {
  id: string;
  name: string;
  dnsSuffix: string;
  settings: TailnetSettings;
  policy: TailnetPolicy;
  oauthClients: OAuthClientRecord[];
  authKeys: AuthKeyRecord[];
  devices: DeviceRecord[];
  vipServices: VipServiceRecord[];
}

export interface StateDump {
  version: 1;
  defaultTailnetId: string;
  tailnets: TailnetDump[];
  tokens: AccessTokenRecord[];
}

export interface NewTailnet {
  name?: string;
  dnsSuffix?: string;
}

export class SimulatorState {
  readonly tailnets = new Map<string, TailnetRecord>();
  readonly tokens = new Map<string, AccessTokenRecord>();
  defaultTailnetId = '';

  static empty(): SimulatorState {
    const state = new SimulatorState();
    state.defaultTailnetId = state.createTailnet({ name: 'example.com' }).id;
    return state;
  }

  createTailnet(input: NewTailnet = {}): TailnetRecord {
    const id = newTailnetId();
    const tailnet: TailnetRecord = {
      id,
      name: input.name ?? `tailnet-${id.slice(1, 7).toLowerCase()}.example`,
      dnsSuffix: input.dnsSuffix ?? newDnsSuffix(),
      settings: { servicesEnabled: true, devicesApprovalOn: false },
      policy: { autoApprovers: { services: {} }, tagOwners: {} },
      oauthClients: new Map(),
      authKeys: new Map(),
      devices: new Map(),
      vipServices: new Map(),
      deviceLabels: new Map(),
    };
    if (this.findTailnet(tailnet.name)) throw new Error(`tailnet ${tailnet.name} already exists`);
    this.tailnets.set(id, tailnet);
    return tailnet;
  }

  /** By ID or legacy name; the default tailnet when no reference is given. */
  findTailnet(ref?: string): TailnetRecord | undefined {
    if (ref === undefined || ref === '') return this.tailnets.get(this.defaultTailnetId);
    const byId = this.tailnets.get(ref);
    if (byId) return byId;
    for (const tailnet of this.tailnets.values()) if (tailnet.name === ref) return tailnet;
    return undefined;
  }

  findOAuthClient(clientId: string): { tailnet: TailnetRecord; client: OAuthClientRecord } | undefined {
    for (const tailnet of this.tailnets.values()) {
      const client = tailnet.oauthClients.get(clientId);
      if (client) return { tailnet, client };
    }
    return undefined;
  }

  findAuthKeyBySecret(secret: string): { tailnet: TailnetRecord; key: AuthKeyRecord } | undefined {
    for (const tailnet of this.tailnets.values()) {
      for (const key of tailnet.authKeys.values()) if (key.secret === secret) return { tailnet, key };
    }
    return undefined;
  }

  addDevice(tailnet: TailnetRecord, device: DeviceRecord): void {
    tailnet.devices.set(device.nodeId, device);
    tailnet.deviceLabels.set(device.dnsLabel, device.nodeId);
  }

  removeDevice(tailnet: TailnetRecord, nodeId: string): boolean {
    const device = tailnet.devices.get(nodeId);
    if (!device) return false;
    tailnet.devices.delete(nodeId);
    tailnet.deviceLabels.delete(device.dnsLabel);
    return true;
  }

  findDevice(tailnet: TailnetRecord, idOrNodeId: string): DeviceRecord | undefined {
    const byNodeId = tailnet.devices.get(idOrNodeId);
    if (byNodeId) return byNodeId;
    for (const device of tailnet.devices.values()) if (device.id === idOrNodeId) return device;
    return undefined;
  }

  /**
   * The device's MagicDNS label: the hostname made DNS-safe, with `-1`, `-2`... appended while it
   * clashes with another device or a service, as the control plane does for duplicate machine names.
   */
  uniqueDeviceLabel(tailnet: TailnetRecord, hostname: string): string {
    const base =
      hostname
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 56) || 'device';
    const taken = (label: string) =>
      tailnet.deviceLabels.has(label) || tailnet.vipServices.has(`svc:${label}`);
    if (!taken(base)) return base;
    for (let n = 1; ; n++) if (!taken(`${base}-${n}`)) return `${base}-${n}`;
  }

  /** Every address in use in the tailnet (devices and services), IPv6 in canonical form. */
  usedAddresses(tailnet: TailnetRecord): Set<string> {
    const used = new Set<string>();
    const add = (address: string) =>
      used.add(address.includes(':') ? (canonicalIpv6(address) ?? address) : address);
    for (const device of tailnet.devices.values()) device.addresses.forEach(add);
    for (const service of tailnet.vipServices.values()) service.addrs.forEach(add);
    return used;
  }

  pruneExpiredTokens(now: number): void {
    for (const [token, record] of this.tokens) if (record.expiresAt <= now) this.tokens.delete(token);
  }

  dump(): StateDump {
    const tailnets = [...this.tailnets.values()].map((t): TailnetDump => ({
      id: t.id,
      name: t.name,
      dnsSuffix: t.dnsSuffix,
      settings: t.settings,
      policy: t.policy,
      oauthClients: [...t.oauthClients.values()],
      authKeys: [...t.authKeys.values()],
      devices: [...t.devices.values()],
      vipServices: [...t.vipServices.values()],
    }));
    // A deep copy, so the caller can keep or edit the dump without touching live state.
    return structuredClone({
      version: 1,
      defaultTailnetId: this.defaultTailnetId,
      tailnets,
      tokens: [...this.tokens.values()],
    });
  }

  static load(input: unknown): SimulatorState {
    const dump = parseDump(input);
    const state = new SimulatorState();
    for (const t of structuredClone(dump.tailnets)) {
      const tailnet: TailnetRecord = {
        id: t.id,
        name: t.name,
        dnsSuffix: t.dnsSuffix,
        settings: t.settings,
        policy: t.policy,
        oauthClients: new Map(t.oauthClients.map((c) => [c.id, c])),
        authKeys: new Map(t.authKeys.map((k) => [k.id, k])),
        devices: new Map(),
        vipServices: new Map(t.vipServices.map((s) => [s.name, s])),
        deviceLabels: new Map(),
      };
      state.tailnets.set(tailnet.id, tailnet);
      for (const device of t.devices) state.addDevice(tailnet, device);
    }
    for (const token of dump.tokens) state.tokens.set(token.token, { ...token });
    if (!state.tailnets.has(dump.defaultTailnetId))
      throw new Error('state dump: defaultTailnetId is unknown');
    state.defaultTailnetId = dump.defaultTailnetId;
    return state;
  }
}

function parseDump(input: unknown): StateDump {
  const dump = input as Partial<StateDump> | null;
  if (typeof dump !== 'object' || dump === null || dump.version !== 1) {
    throw new Error('state dump: expected an object with version 1');
  }
  if (
    !Array.isArray(dump.tailnets) ||
    !Array.isArray(dump.tokens) ||
    typeof dump.defaultTailnetId !== 'string'
  ) {
    throw new Error('state dump: tailnets, tokens and defaultTailnetId are required');
  }
  for (const t of dump.tailnets) {
    const lists = [t.oauthClients, t.authKeys, t.devices, t.vipServices];
    if (typeof t.id !== 'string' || typeof t.dnsSuffix !== 'string' || !lists.every(Array.isArray)) {
      throw new Error('state dump: malformed tailnet entry');
    }
  }
  return dump as StateDump;
}

/** Writes atomically (temp file + rename) so a crash mid-save never leaves a truncated state file. */
export async function saveStateFile(path: string, dump: StateDump): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(dump, null, 2) + '\n', 'utf8');
  await rename(temp, path);
}

export async function readStateFile(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}
