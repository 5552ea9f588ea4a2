/** The admin API over HTTP, for a simulator running in another process (e.g. `main.ts`). */
import type { CreatedOAuthClient, SimulatedDevice, TailnetInfo, TailscaleSimulatorAdmin } from './admin';
import { ApiError } from './api-error';
import type { CompatOptions } from './context';
import type { RequestCounts } from './counters';
import type { FaultRule, FaultSpec } from './faults';
import type { DeviceLogin } from './login';
import type { StateDump, TailnetPolicy, TailnetSettings } from './state';

export class HttpSimulatorAdmin implements TailscaleSimulatorAdmin {
  /** @param baseUrl the simulator's URL, e.g. `http://127.0.0.1:41641` */
  constructor(private readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}/__admin${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    const json = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const message = (json as { message?: unknown } | undefined)?.message;
      throw new ApiError(response.status, typeof message === 'string' ? message : text);
    }
    return json as T;
  }

  createTailnet(input: { name?: string; dnsSuffix?: string } = {}): Promise<TailnetInfo> {
    return this.call('POST', '/tailnets', input);
  }
  listTailnets(): Promise<TailnetInfo[]> {
    return this.call('GET', '/tailnets');
  }
  createOAuthClient(input: {
    scopes: string[];
    tags?: string[];
    description?: string;
    tailnet?: string;
  }): Promise<CreatedOAuthClient> {
    return this.call('POST', '/oauth-clients', input);
  }
  createApiKey(input: { tailnet?: string } = {}): Promise<{ token: string }> {
    return this.call('POST', '/api-keys', input);
  }
  setDnsSuffix(input: { suffix: string; tailnet?: string }): Promise<TailnetInfo> {
    return this.call('PUT', '/dns-suffix', input);
  }
  setPolicy(input: Partial<TailnetPolicy> & { tailnet?: string }): Promise<TailnetInfo> {
    return this.call('PUT', '/policy', input);
  }
  setTailnetSettings(input: Partial<TailnetSettings> & { tailnet?: string }): Promise<TailnetInfo> {
    return this.call('PUT', '/settings', input);
  }
  setCompat(input: Partial<CompatOptions>): Promise<CompatOptions> {
    return this.call('PUT', '/compat', input);
  }
  registerDevice(input: DeviceLogin): Promise<SimulatedDevice> {
    return this.call('POST', '/devices', input);
  }
  async setDeviceOnline(input: { nodeId: string; online: boolean }): Promise<void> {
    await this.call('PUT', `/devices/${encodeURIComponent(input.nodeId)}/online`, { online: input.online });
  }
  async advertiseServices(input: { nodeId: string; services: string[]; configured?: string }): Promise<void> {
    const { nodeId, ...body } = input;
    await this.call('POST', `/devices/${encodeURIComponent(nodeId)}/advertise`, body);
  }
  async unadvertiseServices(input: { nodeId: string; services: string[] }): Promise<void> {
    await this.call('POST', `/devices/${encodeURIComponent(input.nodeId)}/unadvertise`, {
      services: input.services,
    });
  }
  addFault(spec: FaultSpec): Promise<FaultRule> {
    return this.call('POST', '/faults', spec);
  }
  listFaults(): Promise<FaultRule[]> {
    return this.call('GET', '/faults');
  }
  async removeFault(id: string): Promise<boolean> {
    try {
      await this.call('DELETE', `/faults/${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  }
  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/faults');
  }
  requestCounts(): Promise<RequestCounts> {
    return this.call('GET', '/requests');
  }
  async resetRequestCounts(): Promise<void> {
    await this.call('DELETE', '/requests');
  }
  advanceClock(ms: number): Promise<{ now: string }> {
    return this.call('POST', '/clock/advance', { ms });
  }
  async expireTokens(): Promise<number> {
    return (await this.call<{ expired: number }>('POST', '/tokens/expire')).expired;
  }
  dumpState(): Promise<StateDump> {
    return this.call('GET', '/state');
  }
  async loadState(dump: StateDump): Promise<void> {
    await this.call('PUT', '/state', dump);
  }
  async saveStateFile(path: string): Promise<void> {
    await this.call('POST', '/state/save', { path });
  }
  async loadStateFile(path: string): Promise<void> {
    await this.call('POST', '/state/load', { path });
  }
}
