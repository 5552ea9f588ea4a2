import { consumerKeyOf, type ActivityContext } from './context';
import { dnsSuffixFromDeviceNames } from './tailscale/dns-suffix';
import { listDevices, type Device } from './tailscale/devices';
import { isTailscaleApiError, toActivityFailure } from './tailscale/errors';
import { listKeys } from './tailscale/keys';
import { listVipServices, type VipService } from './tailscale/vip-services';
import { TailnetUnavailable } from './tailnets';
import { defaultStaleAfterMs } from './vip';
import { liveDeviceIds } from './vip/lifecycle';
import { foreignInstance, isLiveConsumer, readRegistry } from './vip/registry';
import { TailnetReason } from '../api/reasons';

export interface TailnetCheck {
  ready: boolean;
  reason: TailnetReason;
  message: string;
  missingScopes: string[];
  dnsSuffix?: string;
  /** resourceVersion of the OAuth Secret checked, so a Secret change is visible in history. */
  secretVersion?: string;
  /** This install's identity in the tailnet's registries (status.operator). */
  operator?: { clusterID: string; operatorID: string; instance?: string };
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
export function createTailnetCheckActivities(ctx: ActivityContext, staleAfterMs = defaultStaleAfterMs) {
  const operator = {
    clusterID: ctx.identity.clusterId,
    operatorID: ctx.identity.operatorId,
    ...(ctx.identity.instance ? { instance: ctx.identity.instance } : {}),
  };
  return {
    async checkTailnetCredentials(input: { name: string }): Promise<TailnetCheck> {
      return { ...(await checkCredentials(input)), operator };
    },
  };

  async function checkCredentials(input: { name: string }): Promise<TailnetCheck> {
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
    let devices: Device[] = [];
    let services: VipService[] = [];
    for (const { scope, probe } of scopeProbes) {
      try {
        const items = await probe(client);
        if (scope === 'devices:core') {
          devices = items as Device[];
          dnsSuffix = dnsSuffixFromDeviceNames(devices) ?? undefined;
        }
        if (scope === 'services') services = items as VipService[];
      } catch (err) {
        if (isTailscaleApiError(err) && err.type === 'TailscaleUnauthorized') {
          return {
            ready: false,
            reason: TailnetReason.InvalidOAuth,
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
        reason: TailnetReason.MissingScope,
        message: `the OAuth client lacks scope(s) ${missingScopes.join(', ')}: create a client with devices:core, auth_keys and services`,
        missingScopes,
        dnsSuffix,
      };
    }
    const collision = identityCollision(services, devices);
    if (collision) {
      ctx.logger.error('identity collision: another live install uses this identity', {
        tailnet: input.name,
        identity: consumerKeyOf(ctx.identity),
        instance: ctx.identity.instance,
        otherInstance: collision.instance,
        vipService: collision.service,
      });
      return {
        ready: false,
        reason: TailnetReason.IdentityCollision,
        message:
          `identity ${consumerKeyOf(ctx.identity)} is also used by another live install (instance ` +
          `${collision.instance}, in VIP service ${collision.service}); this install leaves that ` +
          "install's registry entries untouched. Give one install its own identity: unset operatorId " +
          'and clusterId in its chart values (derived per install), or set distinct ones',
        missingScopes: [],
        dnsSuffix,
      };
    }
    return {
      ready: true,
      reason: TailnetReason.Ready,
      message: dnsSuffix
        ? `OAuth client valid with every needed scope; tailnet DNS suffix ${dnsSuffix}`
        : 'OAuth client valid with every needed scope; DNS suffix unknown until the tailnet has a device',
      missingScopes: [],
      dnsSuffix,
    };
  }

  /** A VIP service whose entry under our key is another live install's (a different instance). */
  function identityCollision(
    services: VipService[],
    devices: Device[],
  ): { service: string; instance: string } | undefined {
    const now = Date.now();
    const liveDevices = liveDeviceIds(devices, now, staleAfterMs);
    const self = consumerKeyOf(ctx.identity);
    for (const service of services) {
      let theirs;
      try {
        const registry = readRegistry(service.annotations);
        theirs = registry && foreignInstance(registry, self, ctx.identity.instance);
      } catch {
        continue;
      }
      if (theirs?.instance && isLiveConsumer(theirs, { now, staleAfterMs, liveDevices })) {
        return { service: service.name, instance: theirs.instance };
      }
    }
    return undefined;
  }
}
