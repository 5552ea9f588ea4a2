/** Clients of the real TailscaleClient against a simulator over loopback HTTP. */
import { TailscaleClient, type TailscaleClientOptions } from '../../../activities/tailscale/client';
import type { SimHarness } from '../../simulators/tailscale/support';

export async function clientFor(
  h: SimHarness,
  scopes: string[] = ['services', 'devices:core', 'auth_keys'],
  tags: string[] = ['tag:k8s'],
  options: Partial<TailscaleClientOptions> = {},
): Promise<TailscaleClient> {
  const credentials = await h.admin.createOAuthClient({ scopes, tags });
  return new TailscaleClient({
    clientId: credentials.id,
    clientSecret: credentials.secret,
    baseUrl: h.url,
    logger: silentLogger,
    ...options,
  });
}

export const silentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

export async function tokenRequests(h: SimHarness): Promise<number> {
  return (await h.admin.requestCounts()).routes['POST /api/v2/oauth/token'] ?? 0;
}

/** Runs `fn` and returns what it threw (failing the test when it did not throw). */
export async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}
