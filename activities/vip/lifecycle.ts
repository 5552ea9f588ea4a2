import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../../runtime/backoff';
import type { TailscaleClient } from '../tailscale/client';
import { isTailscaleApiError } from '../tailscale/errors';
import { listDevices, type Device } from '../tailscale/devices';
import {
  deleteVipService,
  getVipService,
  listVipServices,
  putVipService,
  type VipService,
  type VipServiceInput,
} from '../tailscale/vip-services';
import {
  attachConsumer,
  consumerUpToDate,
  detachConsumer,
  foreignInstance,
  foreignOwnerReferences,
  IdentityCollisionError,
  isLiveConsumer,
  newRegistry,
  readRegistry,
  RegistryError,
  staleConsumers,
  type RegistryConsumer,
  withOwnerReference,
  withoutOwnerReference,
  writeRegistry,
  type ServiceRegistry,
} from './registry';

export interface VipServiceSpec {
  ports: string[];
  tags: string[];
  comment?: string;
}

export interface AttachInput {
  serviceName: string;
  spec: VipServiceSpec;
  /** Local objects consuming the service (services/<ns>/<name>, ...). */
  routes: string[];
  /** Node IDs of our proxies serving it (liveness evidence for peers' sweepers). */
  devices?: string[];
}

export type AttachOutcome = 'Created' | 'Attached' | 'Updated' | 'UpToDate' | 'NotOwned' | 'SpecMismatch';

export interface AttachResult {
  outcome: AttachOutcome;
  addresses: string[];
  ownerOperator?: string;
  consumers: number;
  message: string;
  /** Read-modify-write rounds lost to a concurrent writer before ours stuck. */
  lostUpdates: number;
}

export interface DetachResult {
  outcome: 'Detached' | 'Deleted' | 'NotFound' | 'NotOwned' | 'NotAttached';
  consumers: number;
  message: string;
  lostUpdates: number;
}

export interface LifecycleOptions {
  client: TailscaleClient;
  /** `<clusterID>/<operatorID>`. */
  self: string;
  now?: () => number;
  /** Refresh our lastSeen when it is older than this even if nothing else changed. */
  refreshAfterMs: number;
  /** This install's instance (runtime/identity.ts): recorded in our entry, and checked against it. */
  instance?: string;
  /** Peers judge a consumer stale after this (default: twice refreshAfterMs). */
  staleAfterMs?: number;
  maxAttempts?: number;
  random?: () => number;
  /** A write is based on a read at most this old (from the GET's start); older, it reads again. */
  maxReadAgeMs?: number;
}

/**
 * Peers read a service back 3 s after their writes (workflows/vip-service.ts settleDelay). A write based
 * on a read older than that, by a worker starved between its GET and its PUT, could undo a peer's write
 * after the peer's last look: so a write whose read is older than this reads again first.
 */
export const defaultMaxReadAgeMs = 1000;

const defaultComment =
  'Managed by the Tailscale Gateway Operator (gateway.tailscale.com registry); do not edit.';

export class LostUpdateError extends Error {
  override name = 'LostUpdateError';
}

/** The read a write would be based on is too old (see defaultMaxReadAgeMs): read again. */
class StaleReadError extends LostUpdateError {
  override name = 'StaleReadError';
}

/** Reads the service, and returns a check to call right before writing on the strength of that read. */
async function readForWrite(
  opts: LifecycleOptions,
  serviceName: string,
  read: () => Promise<VipService | null> = () => getVipService(opts.client, serviceName),
): Promise<{ current: VipService | null; beforeWrite: () => void }> {
  const clock = opts.now ?? Date.now;
  const readAt = clock();
  const current = await read();
  return {
    current,
    beforeWrite: () => {
      const age = clock() - readAt;
      if (age > (opts.maxReadAgeMs ?? defaultMaxReadAgeMs)) {
        throw new StaleReadError(`the read of ${serviceName} is ${age} ms old by our write: reading again`);
      }
    },
  };
}

/**
 * Create the VIP service, or attach to the existing one, through the registry. The API has no ETag, so
 * every write is read-modify-write, verified by reading back; a write lost to a concurrent writer is
 * retried after a jittered pause. A service without our registry is never modified.
 */
export async function attachVipService(opts: LifecycleOptions, input: AttachInput): Promise<AttachResult> {
  return withLostUpdateRetries(opts, async (lostUpdates) => {
    const nowMs = (opts.now ?? Date.now)();
    const now = new Date(nowMs).toISOString();
    const { current, beforeWrite } = await readForWrite(opts, input.serviceName);
    const entry = { routes: input.routes, devices: input.devices, instance: opts.instance };

    if (!current) {
      const registry = attachConsumer(newRegistry(input.serviceName, opts.self, now), opts.self, entry, now);
      const body: VipServiceInput = {
        name: input.serviceName,
        comment: input.spec.comment ?? defaultComment,
        ports: input.spec.ports,
        tags: input.spec.tags,
        annotations: withOwnerReference(writeRegistry({}, registry, opts.self), opts.self),
      };
      try {
        beforeWrite();
        await putVipService(opts.client, body);
      } catch (err) {
        // A PUT without addrs on a service that now exists: another operator created it since our GET.
        if (isTailscaleApiError(err) && err.status === 400 && /addrs/i.test(err.apiMessage ?? '')) {
          throw new LostUpdateError(`${input.serviceName} was created concurrently`);
        }
        throw err;
      }
      const stored = await verify(opts, input.serviceName, (r) =>
        Boolean(r?.consumers[opts.self]?.lastSeen === now),
      );
      return result('Created', stored, lostUpdates, `created ${input.serviceName}`);
    }

    const registry = parseRegistryOrExplain(current);
    if (!registry) {
      return {
        outcome: 'NotOwned',
        addresses: current.addrs,
        consumers: 0,
        lostUpdates,
        message: notOwnedMessage(current),
      };
    }
    const theirs = foreignInstance(registry, opts.self, opts.instance);
    if (theirs && (await isLive(opts, theirs, nowMs))) {
      throw new IdentityCollisionError(input.serviceName, opts.self, theirs);
    }
    const owner = registry.ownerOperator === opts.self || !registry.consumers[registry.ownerOperator];
    const specDiffers = !sameSpec(current, input.spec);
    // Devices we list vouch for us: peers keep a consumer whose devices are alive, and our sweeper
    // refreshes lastSeen when none is. So an idle re-check of a service with devices never writes.
    const refreshAfterMs = input.devices?.length ? Number.POSITIVE_INFINITY : opts.refreshAfterMs;
    const fresh = consumerUpToDate(registry, opts.self, entry, nowMs, refreshAfterMs);
    if (fresh && (!owner || !specDiffers)) {
      const mismatch = !owner && specDiffers;
      return result(
        mismatch ? 'SpecMismatch' : 'UpToDate',
        current,
        lostUpdates,
        mismatch ? mismatchMessage(registry, current) : 'up to date',
      );
    }

    const wasAttached = Boolean(registry.consumers[opts.self]);
    const next = attachConsumer(registry, opts.self, entry, now);
    if (owner) next.ownerOperator = opts.self;
    next.vipAddresses = current.addrs;
    const body: VipServiceInput = {
      name: current.name,
      addrs: current.addrs,
      comment: owner ? (input.spec.comment ?? defaultComment) : current.comment,
      ports: owner ? input.spec.ports : current.ports,
      tags: owner ? input.spec.tags : current.tags,
      annotations: withOwnerReference(writeRegistry(current.annotations, next), opts.self),
    };
    beforeWrite();
    await putVipService(opts.client, body);
    const stored = await verify(
      opts,
      input.serviceName,
      (r, svc) => r?.consumers[opts.self]?.lastSeen === now && (!owner || sameSpec(svc, input.spec)),
    );
    if (!owner && specDiffers)
      return result('SpecMismatch', stored, lostUpdates, mismatchMessage(registry, stored));
    const outcome: AttachOutcome = !wasAttached ? 'Attached' : 'Updated';
    return result(outcome, stored, lostUpdates, `${outcome.toLowerCase()} ${input.serviceName}`);
  });
}

/** Leave the registry; delete the service when no consumer (ours or Tailscale's operator's) is left. */
export async function detachVipService(opts: LifecycleOptions, serviceName: string): Promise<DetachResult> {
  return withLostUpdateRetries(opts, async (lostUpdates) => {
    const nowMs = (opts.now ?? Date.now)();
    const now = new Date(nowMs).toISOString();
    const { current, beforeWrite } = await readForWrite(opts, serviceName, () =>
      getVipService(opts.client, serviceName).catch((err: unknown) => {
        // The name is a device's: no service by that name exists, so there is nothing to leave.
        if (isTailscaleApiError(err) && err.type === 'TailscaleNameClash') return null;
        throw err;
      }),
    );
    if (!current)
      return { outcome: 'NotFound', consumers: 0, lostUpdates, message: `${serviceName} is already gone` };
    const registry = parseRegistryOrExplain(current);
    if (!registry)
      return { outcome: 'NotOwned', consumers: 0, lostUpdates, message: notOwnedMessage(current) };
    const theirs = foreignInstance(registry, opts.self, opts.instance);
    if (!registry.consumers[opts.self] || (theirs && (await isLive(opts, theirs, nowMs)))) {
      return {
        outcome: 'NotAttached',
        consumers: Object.keys(registry.consumers).length,
        lostUpdates,
        message: theirs
          ? `not a consumer of ${serviceName}: its entry ${opts.self} is another live install's (instance ${theirs.instance}), left untouched`
          : `not a consumer of ${serviceName}`,
      };
    }
    const next = detachConsumer(registry, opts.self, now);
    const annotations = withoutOwnerReference(current.annotations ?? {}, opts.self);
    const remaining = Object.keys(next.consumers).length;
    beforeWrite();
    if (remaining === 0 && foreignOwnerReferences(annotations, next).length === 0) {
      await deleteVipService(opts.client, serviceName);
      await verifyGone(opts, serviceName);
      return {
        outcome: 'Deleted',
        consumers: 0,
        lostUpdates,
        message: `deleted ${serviceName}: no consumer left`,
      };
    }
    await putVipService(opts.client, {
      name: current.name,
      addrs: current.addrs,
      comment: current.comment,
      ports: current.ports,
      tags: current.tags,
      annotations: writeRegistry(annotations, next),
    });
    await verify(opts, serviceName, (r) => Boolean(r && !r.consumers[opts.self]), { allowMissing: true });
    return {
      outcome: 'Detached',
      consumers: remaining,
      lostUpdates,
      message: `detached from ${serviceName}; ${remaining} consumer(s) remain`,
    };
  });
}

export interface SweepResult {
  services: number;
  removed: { service: string; consumers: string[] }[];
  refreshed: string[];
  deleted: string[];
  writes: number;
}

/**
 * One batched pass over a tailnet: drop consumers not seen for `staleAfterMs` whose devices are all gone,
 * refresh our own lastSeen only where no live device of ours vouches for us. Reads only when idle.
 */
export async function sweepVipServices(
  opts: LifecycleOptions & { staleAfterMs: number },
): Promise<SweepResult> {
  const nowMs = (opts.now ?? Date.now)();
  const [services, live] = await Promise.all([
    listVipServices(opts.client),
    liveDevices(opts, nowMs, opts.staleAfterMs),
  ]);
  const result: SweepResult = { services: 0, removed: [], refreshed: [], deleted: [], writes: 0 };
  for (const service of services) {
    let registry: ServiceRegistry | undefined;
    try {
      registry = readRegistry(service.annotations);
    } catch {
      continue;
    }
    if (!registry) continue;
    result.services++;
    const stale = staleConsumers(registry, {
      now: nowMs,
      staleAfterMs: opts.staleAfterMs,
      self: opts.self,
      liveDevices: live,
    });
    const mine = foreignInstance(registry, opts.self, opts.instance)
      ? undefined
      : registry.consumers[opts.self];
    const vouched = (mine?.devices ?? []).some((d) => live.has(d));
    const refresh =
      Boolean(mine) && !vouched && nowMs - Date.parse(mine?.lastSeen ?? '') > opts.refreshAfterMs;
    if (!stale.length && !refresh) continue;

    const outcome = await sweepOne(opts, service.name, stale, refresh);
    result.writes++;
    if (outcome.removed.length) result.removed.push({ service: service.name, consumers: outcome.removed });
    if (outcome.refreshed) result.refreshed.push(service.name);
    if (outcome.deleted) result.deleted.push(service.name);
  }
  return result;
}

async function sweepOne(
  opts: LifecycleOptions,
  serviceName: string,
  stale: string[],
  refresh: boolean,
): Promise<{ removed: string[]; refreshed: boolean; deleted: boolean }> {
  return withLostUpdateRetries(opts, async () => {
    const now = new Date((opts.now ?? Date.now)()).toISOString();
    const { current, beforeWrite } = await readForWrite(opts, serviceName);
    const registry = current ? readRegistry(current.annotations) : undefined;
    if (!current || !registry) return { removed: [], refreshed: false, deleted: false };
    let next = registry;
    let annotations = current.annotations ?? {};
    const removed = stale.filter((key) => next.consumers[key]);
    for (const key of removed) {
      next = detachConsumer(next, key, now);
      annotations = withoutOwnerReference(annotations, key);
    }
    const mine = foreignInstance(next, opts.self, opts.instance) ? undefined : next.consumers[opts.self];
    if (refresh && mine) next = attachConsumer(next, opts.self, { ...mine, instance: opts.instance }, now);
    beforeWrite();
    if (Object.keys(next.consumers).length === 0 && foreignOwnerReferences(annotations, next).length === 0) {
      await deleteVipService(opts.client, serviceName);
      await verifyGone(opts, serviceName);
      return { removed, refreshed: false, deleted: true };
    }
    await putVipService(opts.client, {
      name: current.name,
      addrs: current.addrs,
      comment: current.comment,
      ports: current.ports,
      tags: current.tags,
      annotations: writeRegistry(annotations, next),
    });
    await verify(opts, serviceName, (r) => Boolean(r) && removed.every((k) => !r?.consumers[k]), {
      allowMissing: true,
    });
    return { removed, refreshed: refresh && Boolean(mine), deleted: false };
  });
}

/** Node IDs of the devices connected, or seen within `staleAfterMs`. */
export function liveDeviceIds(devices: Device[], nowMs: number, staleAfterMs: number): Set<string> {
  return new Set(
    devices
      .filter((d) => d.connectedToControl || (d.lastSeen && nowMs - Date.parse(d.lastSeen) <= staleAfterMs))
      .map((d) => d.nodeId),
  );
}

async function liveDevices(
  opts: LifecycleOptions,
  nowMs: number,
  staleAfterMs: number,
): Promise<Set<string>> {
  return liveDeviceIds(await listDevices(opts.client), nowMs, staleAfterMs);
}

/** isLiveConsumer, listing devices only when the entry's own lastSeen does not settle it. */
async function isLive(opts: LifecycleOptions, consumer: RegistryConsumer, nowMs: number): Promise<boolean> {
  const staleAfterMs = opts.staleAfterMs ?? opts.refreshAfterMs * 2;
  const seenOnly = { now: nowMs, staleAfterMs, liveDevices: new Set<string>() };
  if (isLiveConsumer(consumer, seenOnly) || !consumer.devices?.length)
    return isLiveConsumer(consumer, seenOnly);
  return isLiveConsumer(consumer, { ...seenOnly, liveDevices: await liveDevices(opts, nowMs, staleAfterMs) });
}

function parseRegistryOrExplain(service: VipService): ServiceRegistry | undefined {
  try {
    return readRegistry(service.annotations);
  } catch (err) {
    if (err instanceof RegistryError) throw new RegistryError(`VIP service ${service.name}: ${err.message}`);
    throw err;
  }
}

function notOwnedMessage(service: VipService): string {
  const tailscaleOwned = Boolean(service.annotations?.['tailscale.com/owner-references']);
  return (
    `VIP service ${service.name} already exists and is not managed through the gateway.tailscale.com registry` +
    (tailscaleOwned ? ' (it belongs to the Tailscale Kubernetes operator)' : '') +
    ': it is left untouched. Choose another spec.vipService.name, or delete that service in the Tailscale admin console.'
  );
}

function mismatchMessage(registry: ServiceRegistry, service: VipService): string {
  return (
    `attached to ${service.name}, whose ports/tags are managed by operator ${registry.ownerOperator} ` +
    `(ports ${JSON.stringify(service.ports ?? [])}, tags ${JSON.stringify(service.tags ?? [])}); this object's ` +
    'spec.vipService differs and is not applied: align it with the owner'
  );
}

function sameSpec(service: VipService, spec: VipServiceSpec): boolean {
  const norm = (a: string[] | undefined) => JSON.stringify([...(a ?? [])].sort());
  return (
    norm(service.ports) === norm(spec.ports) &&
    norm(service.tags) === norm(spec.tags) &&
    (spec.comment === undefined || service.comment === spec.comment)
  );
}

function result(
  outcome: AttachOutcome,
  service: VipService,
  lostUpdates: number,
  message: string,
): AttachResult {
  const registry = readRegistry(service.annotations);
  return {
    outcome,
    addresses: service.addrs,
    ownerOperator: registry?.ownerOperator,
    consumers: Object.keys(registry?.consumers ?? {}).length,
    lostUpdates,
    message,
  };
}

async function verify(
  opts: LifecycleOptions,
  serviceName: string,
  holds: (registry: ServiceRegistry | undefined, service: VipService) => boolean,
  { allowMissing = false } = {},
): Promise<VipService> {
  const stored = await getVipService(opts.client, serviceName);
  if (!stored) {
    if (allowMissing) return { name: serviceName, addrs: [] };
    throw new LostUpdateError(`${serviceName} vanished right after our write`);
  }
  if (!holds(readRegistry(stored.annotations), stored)) {
    throw new LostUpdateError(`our write to ${serviceName} was overwritten by a concurrent writer`);
  }
  return stored;
}

async function verifyGone(opts: LifecycleOptions, serviceName: string): Promise<void> {
  const stored = await getVipService(opts.client, serviceName);
  // Someone attached between our read and delete and recreated it: theirs now, not a lost update of ours.
  if (stored && !readRegistry(stored.annotations)) throw new LostUpdateError(`${serviceName} reappeared`);
}

async function withLostUpdateRetries<T>(
  opts: LifecycleOptions,
  attempt: (lostUpdates: number) => Promise<T>,
): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? 8;
  const backoff = new Backoff(100, 3200, opts.random);
  for (let lost = 0; ; lost++) {
    try {
      return await attempt(lost);
    } catch (err) {
      if (!(err instanceof LostUpdateError) || lost + 1 >= maxAttempts) throw err;
      await sleep(backoff.nextDelayMs());
    }
  }
}
