/** Reading and writing the Secret keys tailscaled/containerboot use, as the proxy process would. */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { isNotFound } from '../../activities/kubernetes/errors';

export type SecretData = Record<string, string>;

export class ProxySecrets {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Decoded data, or undefined when the Secret does not exist. */
  async read(namespace: string, name: string): Promise<SecretData | undefined> {
    try {
      const secret = await this.core.readNamespacedSecret({ namespace, name });
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Sets keys (a null value removes the key) with one merge patch; nothing else is touched. */
  async patch(namespace: string, name: string, changes: Record<string, string | null>): Promise<void> {
    const data = Object.fromEntries(
      Object.entries(changes).map(([k, v]) => [k, v === null ? null : Buffer.from(v).toString('base64')]),
    );
    await this.core.patchNamespacedSecret(
      { namespace, name, body: { data } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}
