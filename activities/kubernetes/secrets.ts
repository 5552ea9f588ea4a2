import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { isNotFound, toKubeActivityFailure } from './errors';

export interface SecretKeysCheck {
  found: boolean;
  missingKeys: string[];
  resourceVersion?: string;
}

/** Which of `keys` a Secret lacks (or holds empty). Reports presence only: values never leave here. */
export async function checkSecretKeys(
  kc: KubeConfig,
  ref: { namespace: string; name: string },
  keys: string[],
): Promise<SecretKeysCheck> {
  const api = kc.makeApiClient(CoreV1Api);
  try {
    const secret = await api.readNamespacedSecret({ namespace: ref.namespace, name: ref.name });
    const data = secret.data ?? {};
    return {
      found: true,
      missingKeys: keys.filter((k) => !data[k]),
      resourceVersion: secret.metadata?.resourceVersion,
    };
  } catch (err) {
    if (isNotFound(err)) return { found: false, missingKeys: keys };
    throw toKubeActivityFailure(err, `reading Secret ${ref.namespace}/${ref.name}`);
  }
}
