import type { ActivityContext } from './context';
import { dnsSuffixFromDeviceNames } from './tailscale/dns-suffix';
import { listDevices } from './tailscale/devices';
import { isTailscaleApiError, toActivityFailure } from './tailscale/errors';
import { listKeys } from './tailscale/keys';
import { listVipServices } from './tailscale/vip-services';
import { TailnetUnavailable } from './tailnets';

export interface TailnetCheck {
  ready: boolean;
  reason: 'Ready' | 'TailnetNotFound' | 'InvalidSecret' | 'InvalidOAuth' | 'MissingScope';
  message: string;
  missingScopes: string[];
  dnsSuffix?: string;
  /** resourceVersion of the OAuth Secret checked, so a Secret change is visible in history. */
  secretVersion?: string;
}

/** The scopes the operator needs, each probed by the cheapest read that requires it. */
const scopeProbes = [
  { scope: 'devices:core', probe: listDevices },
  { scope: 'auth_keys', probe: listKeys },
  { scope: 'services', probe: listVipServices },
] as const;

/**
 * Checks a tailnet's OAuth client end to end: the Secret, the token exchange, and every scope the
 * operator uses (a missing `services` scope shows up as a 404, not a 403). Reports each missing scope.
 */
export function createTailnetCheckActivities(ctx: ActivityContext) {
  return {
    async checkTailnetCredentials(input: { name: string }): Promise<TailnetCheck> {
      let client;
      try {
        ({ client } = await ctx.tailnets.client(input.name));
      } catch (err) {
        if (err instanceof TailnetUnavailable) {
          return { ready: false, reason: err.reason, message: err.message, missingScopes: [] };
        }
        throw err;
      }
      const missingScopes: string[] = [];
      let dnsSuffix: string | undefined;
      for (const { scope, probe } of scopeProbes) {
        try {
          const items = await probe(client);
          if (scope === 'devices:core') dnsSuffix = dnsSuffixFromDeviceNames(items as never) ?? undefined;
        } catch (err) {
          if (isTailscaleApiError(err) && err.type === 'TailscaleUnauthorized') {
            return {
              ready: false,
              reason: 'InvalidOAuth',
              message: `Tailscale rejected the OAuth client of TailscaleTailnet ${input.name}: ${err.message}`,
              missingScopes: [],
            };
          }
          if (isTailscaleApiError(err) && (err.status === 403 || err.status === 404)) {
            missingScopes.push(scope);
            continue;
          }
          throw toActivityFailure(err);
        }
      }
      if (missingScopes.length) {
        return {
          ready: false,
          reason: 'MissingScope',
          message: `the OAuth client lacks scope(s) ${missingScopes.join(', ')}: create a client with devices:core, auth_keys and services`,
          missingScopes,
          dnsSuffix,
        };
      }
      return {
        ready: true,
        reason: 'Ready',
        message: dnsSuffix
          ? `OAuth client valid with every needed scope; tailnet DNS suffix ${dnsSuffix}`
          : 'OAuth client valid with every needed scope; DNS suffix unknown until the tailnet has a device',
        missingScopes: [],
        dnsSuffix,
      };
    },
  };
}
