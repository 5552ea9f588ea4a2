/**
 * One TailscaleClient per tailnet, reused across activity calls so the access token is cached; a
 * tailnet whose credentials or base URL change gets a fresh client.
 */
import { createHash } from 'node:crypto';
import { TailscaleClient, type TailscaleClientOptions, type TailscaleCredentials } from './client';

export interface TailnetClientConfig extends TailscaleCredentials {
  /** The TailscaleTailnet object's name: the cache key. */
  tailnetName: string;
  baseUrl?: string;
}

export type SharedClientOptions = Omit<TailscaleClientOptions, 'clientId' | 'clientSecret' | 'baseUrl'>;

export class TailscaleClientRegistry {
  private readonly clients = new Map<string, { fingerprint: string; client: TailscaleClient }>();

  constructor(private readonly shared: SharedClientOptions = {}) {}

  forTailnet(config: TailnetClientConfig): TailscaleClient {
    // A digest, so the registry never holds a second copy of the secret in comparable form.
    const fingerprint = createHash('sha256')
      .update([config.clientId, config.clientSecret, config.baseUrl ?? ''].join('\0'))
      .digest('hex');
    const cached = this.clients.get(config.tailnetName);
    if (cached?.fingerprint === fingerprint) return cached.client;
    const client = new TailscaleClient({
      ...this.shared,
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      baseUrl: config.baseUrl,
    });
    this.clients.set(config.tailnetName, { fingerprint, client });
    return client;
  }

  forget(tailnetName: string): void {
    this.clients.delete(tailnetName);
  }
}
