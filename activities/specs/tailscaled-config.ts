/**
 * Where the proxies' tailscaled config lives and how the operator reads it back. containerboot picks,
 * from the config directory, the highest `cap-<N>.hujson` with N at most its own capability version
 * (cmd/containerboot/main.go tailscaledConfigFilePath in tailscale.com); we write exactly one file, at
 * the ProxyGroup minimum of Tailscale's operator (cmd/k8s-operator/proxygroup.go pgMinCapabilityVersion).
 */
import { isRecord } from '../tailscale/response-shape';
import { parseHujson } from './hujson';

export const minimumProxyCapVersion = 106;

export const capVersionFileName = (capVersion: number) => `cap-${capVersion}.hujson`;

/** The one key of each replica's config Secret. */
export const tailscaledConfigKey = capVersionFileName(minimumProxyCapVersion);

/** A config value as the operator reads it back (HuJSON); undefined when empty, invalid or not an object. */
export function parseTailscaledConfig(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const value = parseHujson(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
