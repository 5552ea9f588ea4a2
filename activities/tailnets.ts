import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { resourceOf } from '../api/crd';
import { tailscaleTailnetCrd, type TailscaleTailnet } from '../api/v1alpha1/tailscale-tailnet';
import { TailscaleClientRegistry } from './tailscale/client-registry';
import type { TailscaleClient } from './tailscale/client';
import { CustomObjects } from './kubernetes/custom-objects';
import { ExpiringPromises } from './expiring-promises';
import { isNotFound, kubeStatusCode, toKubeActivityFailure } from './kubernetes/errors';
import { TailnetReason } from '../api/reasons';

export const tailnetResource = resourceOf(tailscaleTailnetCrd);

/** Why a tailnet cannot be used; `reason` is a condition reason a user can act on. */
export class TailnetUnavailable extends Error {
  override name = 'TailnetUnavailable';
  constructor(
    readonly reason: typeof TailnetReason.TailnetNotFound | typeof TailnetReason.InvalidSecret,
    message: string,
  ) {
    super(message);
  }

  toFailure(): ApplicationFailure {
    return ApplicationFailure.create({ message: this.message, type: this.reason, nonRetryable: true });
  }
}

/** How long `apiClient` reuses a tailnet's resolved credentials: a rotated Secret is used this much later. */
export const defaultCredentialsTtlMs = 5_000;

export interface TailnetClientsOptions {
  credentialsTtlMs?: number;
  now?: () => number;
}

/**
 * Resolves a TailscaleTailnet name to an API client. Credentials are read from the referenced Secret
 * here, inside the activity, and never returned: they stay out of workflow history.
 */
export class TailnetClients {
  private readonly objects: CustomObjects;
  private readonly core: CoreV1Api;
  private readonly resolved: ExpiringPromises<string, TailscaleClient>;

  constructor(
    kc: KubeConfig,
    private readonly registry: TailscaleClientRegistry,
    private readonly baseUrl: string,
    options: TailnetClientsOptions = {},
  ) {
    this.objects = new CustomObjects(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.resolved = new ExpiringPromises(options.credentialsTtlMs ?? defaultCredentialsTtlMs, options.now);
  }

  /**
   * The API client alone, for activities that only call Tailscale. Concurrent callers share one
   * resolution, and its result serves `credentialsTtlMs`: every VIP and proxy activity used to read the
   * TailscaleTailnet and its Secret again (two API-server reads each, about 9,600 for 1,000 services
   * cold). A failed resolution is not kept. Whatever must see the object as it is now (its conditions,
   * the tailnet's own credentials check) uses `client`.
   */
  apiClient(name: string): Promise<TailscaleClient> {
    return this.resolved.get(name, async () => (await this.client(name)).client);
  }

  async tailnet(name: string): Promise<TailscaleTailnet> {
    try {
      return await this.objects.get<TailscaleTailnet>(tailnetResource, { name });
    } catch (err) {
      if (isNotFound(err)) {
        throw new TailnetUnavailable(
          TailnetReason.TailnetNotFound,
          `TailscaleTailnet ${name} does not exist: create it, or fix the tailnet name`,
        );
      }
      throw toKubeActivityFailure(err, `reading TailscaleTailnet ${name}`);
    }
  }

  async client(name: string): Promise<{ client: TailscaleClient; tailnet: TailscaleTailnet }> {
    const tailnet = await this.tailnet(name);
    const ref = tailnet.spec.oauthSecretRef;
    const where = `Secret ${ref.namespace}/${ref.name} (spec.oauthSecretRef of TailscaleTailnet ${name})`;
    let data: Record<string, string>;
    try {
      data = (await this.core.readNamespacedSecret({ namespace: ref.namespace, name: ref.name })).data ?? {};
    } catch (err) {
      if (isNotFound(err)) {
        throw new TailnetUnavailable(
          TailnetReason.InvalidSecret,
          `${where} not found: create it with keys client_id and client_secret`,
        );
      }
      if (kubeStatusCode(err) === 403) {
        throw new TailnetUnavailable(
          TailnetReason.InvalidSecret,
          `${where} may not be read by the operator (forbidden). An install limited to some namespaces ` +
            `(watch.namespaces) reads Secrets only in those: move the Secret into one of them`,
        );
      }
      throw toKubeActivityFailure(err, `reading ${where}`);
    }
    const missing = ['client_id', 'client_secret'].filter((k) => !data[k]);
    if (missing.length) {
      throw new TailnetUnavailable(
        TailnetReason.InvalidSecret,
        `${where} is missing key(s) ${missing.join(', ')}`,
      );
    }
    const decode = (k: string) =>
      Buffer.from(data[k] ?? '', 'base64')
        .toString('utf8')
        .trim();
    const client = this.registry.forTailnet({
      tailnetName: name,
      clientId: decode('client_id'),
      clientSecret: decode('client_secret'),
      baseUrl: this.baseUrl,
    });
    return { client, tailnet };
  }
}
