/**
 * The simulator's admin API: what tests, benchmarks and the local stack use to set a tailnet up and
 * misbehave on purpose. The same operations exist in-process (`InProcessSimulatorAdmin`) and over HTTP
 * under `/__admin/...` (`adminHttpRoutes`, and `HttpSimulatorAdmin` in admin-client.ts). Errors are
 * `ApiError`s, i.e. `{"message": ...}` with a status over HTTP.
 */
import { ApiError, badRequest } from './api-error';
import type { CompatOptions, SimulatorCore } from './context';
import type { RequestCounter, RequestCounts } from './counters';
import { deviceView } from './devices';
import type { FaultInjector, FaultRule, FaultSpec } from './faults';
import { newKeyId, newSecret } from './ids';
import { parseOAuthClientRequest } from './keys';
import {
  advertiseServices,
  loginDevice,
  setDeviceOnline,
  unadvertiseServices,
  type DeviceLogin,
} from './login';
import {
  readStateFile,
  saveStateFile,
  SimulatorState,
  type StateDump,
  type TailnetPolicy,
  type TailnetRecord,
  type TailnetSettings,
} from './state';
import { isValidDnsSuffix } from './validation';

export interface TailnetInfo {
  id: string;
  name: string;
  dnsSuffix: string;
  settings: TailnetSettings;
  policy: TailnetPolicy;
}

export interface CreatedOAuthClient {
  id: string;
  secret: string;
  tailnetId: string;
  scopes: string[];
  tags: string[];
}

/** The device as the API shows it with `fields=all` (the fields tailscaled would put in its state). */
export interface SimulatedDevice {
  id: string;
  nodeId: string;
  /** MagicDNS FQDN, `<label>.<suffix>`, no trailing dot. */
  name: string;
  hostname: string;
  addresses: string[];
  tags?: string[];
  authorized: boolean;
  isEphemeral: boolean;
  connectedToControl: boolean;
  [field: string]: unknown;
}

/** Every operation takes an optional `tailnet` (ID or name); the default tailnet otherwise. */
export interface TailscaleSimulatorAdmin {
  createTailnet(input?: { name?: string; dnsSuffix?: string }): Promise<TailnetInfo>;
  listTailnets(): Promise<TailnetInfo[]>;
  createOAuthClient(input: {
    scopes: string[];
    tags?: string[];
    description?: string;
    tailnet?: string;
  }): Promise<CreatedOAuthClient>;
  /** A user API access token (`tskey-api-...`) with every scope, valid for 90 days. */
  createApiKey(input?: { tailnet?: string }): Promise<{ token: string }>;
  setDnsSuffix(input: { suffix: string; tailnet?: string }): Promise<TailnetInfo>;
  setPolicy(input: Partial<TailnetPolicy> & { tailnet?: string }): Promise<TailnetInfo>;
  setTailnetSettings(input: Partial<TailnetSettings> & { tailnet?: string }): Promise<TailnetInfo>;
  setCompat(input: Partial<CompatOptions>): Promise<CompatOptions>;
  /** What tailscaled does at login: rejects spent, revoked, expired or unknown keys. */
  registerDevice(input: DeviceLogin): Promise<SimulatedDevice>;
  setDeviceOnline(input: { nodeId: string; online: boolean }): Promise<void>;
  advertiseServices(input: { nodeId: string; services: string[]; configured?: string }): Promise<void>;
  unadvertiseServices(input: { nodeId: string; services: string[] }): Promise<void>;
  addFault(spec: FaultSpec): Promise<FaultRule>;
  listFaults(): Promise<FaultRule[]>;
  removeFault(id: string): Promise<boolean>;
  clearFaults(): Promise<void>;
  requestCounts(): Promise<RequestCounts>;
  resetRequestCounts(): Promise<void>;
  /** Moves the simulator's clock forward (token and key expiry). */
  advanceClock(ms: number): Promise<{ now: string }>;
  /** Expires every access token now; returns how many were live. */
  expireTokens(): Promise<number>;
  dumpState(): Promise<StateDump>;
  loadState(dump: StateDump): Promise<void>;
  saveStateFile(path: string): Promise<void>;
  loadStateFile(path: string): Promise<void>;
}

export interface AdminDeps {
  core: SimulatorCore;
  faults: FaultInjector;
  counter: RequestCounter;
}

const apiKeyLifetimeMs = 90 * 24 * 3600_000;

function tailnetInfo(tailnet: TailnetRecord): TailnetInfo {
  return structuredClone({
    id: tailnet.id,
    name: tailnet.name,
    dnsSuffix: tailnet.dnsSuffix,
    settings: tailnet.settings,
    policy: tailnet.policy,
  });
}

function isStringListMap(value: unknown): value is Record<string, string[]> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => Array.isArray(v) && v.every((s) => typeof s === 'string'))
  );
}

function requireStringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) {
    throw badRequest(`${field} must be an array of strings`);
  }
  return value;
}

export class InProcessSimulatorAdmin implements TailscaleSimulatorAdmin {
  constructor(private readonly deps: AdminDeps) {}

  /** Runs a synchronous operation so that its errors reject the returned promise. */
  private run<T>(operation: () => T): Promise<T> {
    try {
      return Promise.resolve(operation());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private get core(): SimulatorCore {
    return this.deps.core;
  }

  private tailnet(ref?: string): TailnetRecord {
    const tailnet = this.core.state.findTailnet(ref);
    if (!tailnet) throw new ApiError(404, `tailnet ${ref} not found`);
    return tailnet;
  }

  createTailnet(input: { name?: string; dnsSuffix?: string } = {}): Promise<TailnetInfo> {
    return this.run(() => {
      if (input.dnsSuffix !== undefined && !isValidDnsSuffix(input.dnsSuffix)) {
        throw badRequest('invalid DNS suffix');
      }
      try {
        return tailnetInfo(this.core.state.createTailnet(input));
      } catch (err) {
        throw badRequest((err as Error).message);
      }
    });
  }

  listTailnets(): Promise<TailnetInfo[]> {
    return this.run(() => [...this.core.state.tailnets.values()].map(tailnetInfo));
  }

  createOAuthClient(input: {
    scopes: string[];
    tags?: string[];
    description?: string;
    tailnet?: string;
  }): Promise<CreatedOAuthClient> {
    return this.run(() => {
      const tailnet = this.tailnet(input.tailnet);
      const client = parseOAuthClientRequest(
        { scopes: input.scopes, tags: input.tags ?? [], description: input.description ?? '' },
        this.core.clock.now(),
      );
      tailnet.oauthClients.set(client.id, client);
      return {
        id: client.id,
        secret: client.secret,
        tailnetId: tailnet.id,
        scopes: client.scopes,
        tags: client.tags,
      };
    });
  }

  createApiKey(input: { tailnet?: string } = {}): Promise<{ token: string }> {
    return this.run(() => {
      const tailnet = this.tailnet(input.tailnet);
      const now = this.core.clock.now();
      const token = newSecret('api', newKeyId());
      this.core.state.tokens.set(token, {
        token,
        tailnetId: tailnet.id,
        clientId: null,
        scopes: ['all'],
        tags: [],
        issued: now,
        expiresAt: now + apiKeyLifetimeMs,
      });
      return { token };
    });
  }

  setDnsSuffix(input: { suffix: string; tailnet?: string }): Promise<TailnetInfo> {
    return this.run(() => {
      if (typeof input.suffix !== 'string' || !isValidDnsSuffix(input.suffix)) {
        throw badRequest('suffix must be a DNS name such as tail0622b6.ts.net');
      }
      const tailnet = this.tailnet(input.tailnet);
      tailnet.dnsSuffix = input.suffix;
      return tailnetInfo(tailnet);
    });
  }

  setPolicy(input: Partial<TailnetPolicy> & { tailnet?: string }): Promise<TailnetInfo> {
    return this.run(() => {
      const tailnet = this.tailnet(input.tailnet);
      const services = input.autoApprovers?.services;
      if (services !== undefined && !isStringListMap(services)) {
        throw badRequest('autoApprovers.services must map names or tags to lists of tags');
      }
      if (input.tagOwners !== undefined && !isStringListMap(input.tagOwners)) {
        throw badRequest('tagOwners must map tags to lists of owners');
      }
      if (services !== undefined) tailnet.policy.autoApprovers = { services: structuredClone(services) };
      if (input.tagOwners !== undefined) tailnet.policy.tagOwners = structuredClone(input.tagOwners);
      return tailnetInfo(tailnet);
    });
  }

  setTailnetSettings(input: Partial<TailnetSettings> & { tailnet?: string }): Promise<TailnetInfo> {
    return this.run(() => {
      const tailnet = this.tailnet(input.tailnet);
      for (const field of ['servicesEnabled', 'devicesApprovalOn'] as const) {
        const value = input[field];
        if (value === undefined) continue;
        if (typeof value !== 'boolean') throw badRequest(`${field} must be a boolean`);
        tailnet.settings[field] = value;
      }
      return tailnetInfo(tailnet);
    });
  }

  setCompat(input: Partial<CompatOptions>): Promise<CompatOptions> {
    return this.run(() => {
      const compat = this.core.compat;
      if (input.missingServiceMessage !== undefined) {
        if (typeof input.missingServiceMessage !== 'string')
          throw badRequest('missingServiceMessage must be a string');
        compat.missingServiceMessage = input.missingServiceMessage;
      }
      if (input.emptyServiceListStatus !== undefined) {
        if (input.emptyServiceListStatus !== 200 && input.emptyServiceListStatus !== 404) {
          throw badRequest('emptyServiceListStatus must be 200 or 404');
        }
        compat.emptyServiceListStatus = input.emptyServiceListStatus;
      }
      if (input.unknownRouteJson !== undefined) {
        if (typeof input.unknownRouteJson !== 'boolean')
          throw badRequest('unknownRouteJson must be a boolean');
        compat.unknownRouteJson = input.unknownRouteJson;
      }
      return { ...compat };
    });
  }

  registerDevice(input: DeviceLogin): Promise<SimulatedDevice> {
    return this.run(() => {
      const { tailnet, device } = loginDevice(this.core, input);
      return deviceView(tailnet, device, 'all') as SimulatedDevice;
    });
  }

  setDeviceOnline(input: { nodeId: string; online: boolean }): Promise<void> {
    return this.run(() => {
      if (typeof input.online !== 'boolean') throw badRequest('online must be a boolean');
      setDeviceOnline(this.core, String(input.nodeId), input.online);
    });
  }

  advertiseServices(input: { nodeId: string; services: string[]; configured?: string }): Promise<void> {
    return this.run(() => {
      const services = requireStringList(input.services, 'services');
      if (input.configured !== undefined && typeof input.configured !== 'string') {
        throw badRequest('configured must be a string');
      }
      advertiseServices(this.core, String(input.nodeId), services, input.configured);
    });
  }

  unadvertiseServices(input: { nodeId: string; services: string[] }): Promise<void> {
    return this.run(() => {
      unadvertiseServices(this.core, String(input.nodeId), requireStringList(input.services, 'services'));
    });
  }

  addFault(spec: FaultSpec): Promise<FaultRule> {
    return this.run(() => {
      try {
        return this.deps.faults.add(spec);
      } catch (err) {
        throw badRequest((err as Error).message);
      }
    });
  }

  listFaults(): Promise<FaultRule[]> {
    return this.run(() => this.deps.faults.list());
  }

  removeFault(id: string): Promise<boolean> {
    return this.run(() => this.deps.faults.remove(id));
  }

  clearFaults(): Promise<void> {
    return this.run(() => {
      this.deps.faults.clear();
    });
  }

  requestCounts(): Promise<RequestCounts> {
    return this.run(() => this.deps.counter.snapshot());
  }

  resetRequestCounts(): Promise<void> {
    return this.run(() => {
      this.deps.counter.reset();
    });
  }

  advanceClock(ms: number): Promise<{ now: string }> {
    return this.run(() => {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
        throw badRequest('ms must be a non-negative number');
      this.core.clock.advance(ms);
      return { now: new Date(this.core.clock.now()).toISOString() };
    });
  }

  expireTokens(): Promise<number> {
    return this.run(() => {
      const now = this.core.clock.now();
      let live = 0;
      for (const record of this.core.state.tokens.values()) {
        if (record.expiresAt > now) live++;
        record.expiresAt = Math.min(record.expiresAt, now);
      }
      return live;
    });
  }

  dumpState(): Promise<StateDump> {
    return this.run(() => this.core.state.dump());
  }

  loadState(dump: StateDump): Promise<void> {
    return this.run(() => {
      try {
        this.core.state = SimulatorState.load(dump);
      } catch (err) {
        throw badRequest((err as Error).message);
      }
    });
  }

  async saveStateFile(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '') throw badRequest('path is required');
    await saveStateFile(path, this.core.state.dump());
  }

  async loadStateFile(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '') throw badRequest('path is required');
    let dump: unknown;
    try {
      dump = await readStateFile(path);
    } catch (err) {
      throw badRequest(`cannot read state file: ${(err as Error).message}`);
    }
    await this.loadState(dump as StateDump);
  }
}

type Body = Record<string, unknown>;

export interface AdminHttpRoute {
  method: string;
  template: string;
  invoke(admin: TailscaleSimulatorAdmin, params: Record<string, string>, body: Body): Promise<unknown>;
}

/** The HTTP face of the admin API; the response body is the operation's result as JSON (`{}` for none). */
export const adminHttpRoutes: AdminHttpRoute[] = [
  { method: 'POST', template: '/__admin/tailnets', invoke: (a, _p, b) => a.createTailnet(b) },
  { method: 'GET', template: '/__admin/tailnets', invoke: (a) => a.listTailnets() },
  {
    method: 'POST',
    template: '/__admin/oauth-clients',
    invoke: (a, _p, b) =>
      a.createOAuthClient(b as Parameters<TailscaleSimulatorAdmin['createOAuthClient']>[0]),
  },
  { method: 'POST', template: '/__admin/api-keys', invoke: (a, _p, b) => a.createApiKey(b) },
  {
    method: 'PUT',
    template: '/__admin/dns-suffix',
    invoke: (a, _p, b) => a.setDnsSuffix(b as { suffix: string; tailnet?: string }),
  },
  { method: 'PUT', template: '/__admin/policy', invoke: (a, _p, b) => a.setPolicy(b) },
  { method: 'PUT', template: '/__admin/settings', invoke: (a, _p, b) => a.setTailnetSettings(b) },
  { method: 'PUT', template: '/__admin/compat', invoke: (a, _p, b) => a.setCompat(b) },
  {
    method: 'POST',
    template: '/__admin/devices',
    invoke: (a, _p, b) => a.registerDevice(b as unknown as DeviceLogin),
  },
  {
    method: 'PUT',
    template: '/__admin/devices/{nodeId}/online',
    invoke: (a, p, b) => a.setDeviceOnline({ nodeId: p.nodeId!, online: b.online as boolean }),
  },
  {
    method: 'POST',
    template: '/__admin/devices/{nodeId}/advertise',
    invoke: (a, p, b) =>
      a.advertiseServices({
        nodeId: p.nodeId!,
        services: b.services as string[],
        configured: b.configured as string,
      }),
  },
  {
    method: 'POST',
    template: '/__admin/devices/{nodeId}/unadvertise',
    invoke: (a, p, b) => a.unadvertiseServices({ nodeId: p.nodeId!, services: b.services as string[] }),
  },
  {
    method: 'POST',
    template: '/__admin/faults',
    invoke: (a, _p, b) => a.addFault(b as unknown as FaultSpec),
  },
  { method: 'GET', template: '/__admin/faults', invoke: (a) => a.listFaults() },
  { method: 'DELETE', template: '/__admin/faults', invoke: (a) => a.clearFaults() },
  {
    method: 'DELETE',
    template: '/__admin/faults/{id}',
    invoke: async (a, p) => {
      if (!(await a.removeFault(p.id!))) throw new ApiError(404, `fault ${p.id} not found`);
    },
  },
  { method: 'GET', template: '/__admin/requests', invoke: (a) => a.requestCounts() },
  { method: 'DELETE', template: '/__admin/requests', invoke: (a) => a.resetRequestCounts() },
  {
    method: 'POST',
    template: '/__admin/clock/advance',
    invoke: (a, _p, b) => a.advanceClock(b.ms as number),
  },
  {
    method: 'POST',
    template: '/__admin/tokens/expire',
    invoke: async (a) => ({ expired: await a.expireTokens() }),
  },
  { method: 'GET', template: '/__admin/state', invoke: (a) => a.dumpState() },
  { method: 'PUT', template: '/__admin/state', invoke: (a, _p, b) => a.loadState(b as unknown as StateDump) },
  {
    method: 'POST',
    template: '/__admin/state/save',
    invoke: (a, _p, b) => a.saveStateFile(b.path as string),
  },
  {
    method: 'POST',
    template: '/__admin/state/load',
    invoke: (a, _p, b) => a.loadStateFile(b.path as string),
  },
];
