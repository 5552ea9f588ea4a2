/**
 * The multi-operator registry kept in a VIP service's annotations (docs/architecture.md §4): who created the service,
 * which operators (clusters) consume it, and when each was last seen. Pure functions: the activities
 * do the read-modify-write against the API.
 */
export const registryAnnotation = 'gateway.tailscale.com/service-registry';
export const ownerOperatorAnnotation = 'gateway.tailscale.com/owner-operator';
export const consumerCountAnnotation = 'gateway.tailscale.com/consumer-count';
export const lastUpdatedAnnotation = 'gateway.tailscale.com/last-updated';
export const schemaVersionAnnotation = 'gateway.tailscale.com/schema-version';
/** Tailscale's own operator's ownership annotation; kept intact so both operators can share a tailnet. */
export const tailscaleOwnerReferencesAnnotation = 'tailscale.com/owner-references';
export const registrySchemaVersion = 'v1';

export interface RegistryConsumer {
  /** Local objects of that operator using the service, e.g. services/default/web. */
  routes: string[];
  lastSeen: string;
  /** Tailnet devices (node IDs) of that operator serving the service: liveness evidence without writes. */
  devices?: string[];
  /** The install writing under this key (runtime/identity.ts); two live ones under one key collide. */
  instance?: string;
}

/** What a consumer writes about itself. */
export interface ConsumerEntry {
  routes: string[];
  devices?: string[];
  instance?: string;
}

export interface ServiceRegistry {
  serviceName: string;
  ownerOperator: string;
  consumers: Record<string, RegistryConsumer>;
  vipAddresses: string[];
  lastUpdated: string;
}

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** Another live install already writes under our `<clusterID>/<operatorID>`: we refuse to overwrite it. */
export class IdentityCollisionError extends RegistryError {
  override name = 'IdentityCollisionError';
  constructor(serviceName: string, consumerKey: string, theirs: RegistryConsumer) {
    super(
      `identity ${consumerKey} is already used by another live install (instance ${theirs.instance ?? '?'}, ` +
        `last seen ${theirs.lastSeen}) in VIP service ${serviceName}; this install left it untouched. ` +
        'Give one of the installs its own identity: unset operatorId and clusterId in its chart values ' +
        '(then derived from the cluster, namespace and release), or set distinct ones',
    );
  }
}

/** Parses the registry; undefined when the service carries none (not managed by this protocol). */
export function readRegistry(annotations: Record<string, string> | undefined): ServiceRegistry | undefined {
  const raw = annotations?.[registryAnnotation];
  if (raw === undefined) return undefined;
  const version = annotations?.[schemaVersionAnnotation] ?? registrySchemaVersion;
  if (!/^v1(\.|$)/.test(version)) {
    throw new RegistryError(
      `VIP service registry schema ${version} is newer than this operator understands (v1): upgrade the operator`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new RegistryError(`annotation ${registryAnnotation} is not valid JSON`);
  }
  const r = parsed as Partial<ServiceRegistry> | null;
  if (!r || typeof r !== 'object' || typeof r.consumers !== 'object' || r.consumers === null) {
    throw new RegistryError(`annotation ${registryAnnotation} has no consumers map`);
  }
  return {
    serviceName: String(r.serviceName ?? ''),
    ownerOperator: String(r.ownerOperator ?? ''),
    consumers: Object.fromEntries(
      Object.entries(r.consumers).map(([key, c]) => [
        key,
        {
          routes: Array.isArray(c?.routes) ? c.routes.map(String).sort() : [],
          lastSeen: String(c?.lastSeen ?? ''),
          ...(Array.isArray(c?.devices) && c.devices.length ? { devices: c.devices.map(String).sort() } : {}),
          ...(typeof c?.instance === 'string' && c.instance ? { instance: c.instance } : {}),
        },
      ]),
    ),
    vipAddresses: Array.isArray(r.vipAddresses) ? r.vipAddresses.map(String) : [],
    lastUpdated: String(r.lastUpdated ?? ''),
  };
}

/** The registry and its companion annotations, merged over `annotations` (others are kept). */
export function writeRegistry(
  annotations: Record<string, string> | undefined,
  registry: ServiceRegistry,
  creator?: string,
): Record<string, string> {
  const consumers = Object.fromEntries(
    Object.entries(registry.consumers).sort(([a], [b]) => a.localeCompare(b)),
  );
  return {
    ...annotations,
    [registryAnnotation]: JSON.stringify({ ...registry, consumers }),
    [ownerOperatorAnnotation]: annotations?.[ownerOperatorAnnotation] ?? creator ?? registry.ownerOperator,
    [consumerCountAnnotation]: String(Object.keys(consumers).length),
    [lastUpdatedAnnotation]: registry.lastUpdated,
    [schemaVersionAnnotation]: registrySchemaVersion,
  };
}

export function newRegistry(serviceName: string, owner: string, now: string): ServiceRegistry {
  return { serviceName, ownerOperator: owner, consumers: {}, vipAddresses: [], lastUpdated: now };
}

/** Adds or refreshes `consumerKey`; the routes and devices given replace that consumer's previous ones. */
export function attachConsumer(
  registry: ServiceRegistry,
  consumerKey: string,
  entry: ConsumerEntry,
  now: string,
): ServiceRegistry {
  const consumer: RegistryConsumer = {
    routes: [...new Set(entry.routes)].sort(),
    lastSeen: now,
    ...(entry.devices?.length ? { devices: [...new Set(entry.devices)].sort() } : {}),
    ...(entry.instance ? { instance: entry.instance } : {}),
  };
  return { ...registry, consumers: { ...registry.consumers, [consumerKey]: consumer }, lastUpdated: now };
}

/** Removes `consumerKey`; ownership passes to the longest-registered remaining consumer. */
export function detachConsumer(registry: ServiceRegistry, consumerKey: string, now: string): ServiceRegistry {
  const consumers = { ...registry.consumers };
  delete consumers[consumerKey];
  const remaining = Object.keys(consumers).sort();
  const ownerOperator =
    registry.ownerOperator === consumerKey || !consumers[registry.ownerOperator]
      ? (remaining[0] ?? registry.ownerOperator)
      : registry.ownerOperator;
  return { ...registry, consumers, ownerOperator, lastUpdated: now };
}

/**
 * Whether `consumerKey`'s entry already says what `entry` would write: then attaching needs no write,
 * unless its lastSeen is old enough that a peer's sweeper could judge it stale.
 */
export function consumerUpToDate(
  registry: ServiceRegistry,
  consumerKey: string,
  entry: ConsumerEntry,
  now: number,
  refreshAfterMs: number,
): boolean {
  const current = registry.consumers[consumerKey];
  if (!current) return false;
  if (entry.instance && current.instance !== entry.instance) return false;
  const same = (a: string[] | undefined, b: string[] | undefined) =>
    JSON.stringify([...new Set(a ?? [])].sort()) === JSON.stringify([...new Set(b ?? [])].sort());
  if (!same(current.routes, entry.routes) || !same(current.devices, entry.devices)) return false;
  const age = now - Date.parse(current.lastSeen);
  return Number.isFinite(age) && age < refreshAfterMs;
}

/**
 * Consumers the sweeper may drop: not seen for `staleAfterMs` and with no listed device still alive.
 * A consumer whose proxies are up is alive even if it has written nothing for hours, so an idle
 * operator never has to write just to prove it exists.
 */
export function staleConsumers(
  registry: ServiceRegistry,
  opts: { now: number; staleAfterMs: number; self: string; liveDevices: ReadonlySet<string> },
): string[] {
  return Object.entries(registry.consumers)
    .filter(([key, consumer]) => key !== opts.self && !isLiveConsumer(consumer, opts))
    .map(([key]) => key)
    .sort();
}

/**
 * The entry under `consumerKey` when another install (a different instance) wrote it: while it is live
 * (isLiveConsumer) it is not ours to overwrite or remove. An entry without an instance predates
 * instances and is adopted.
 */
export function foreignInstance(
  registry: ServiceRegistry,
  consumerKey: string,
  instance: string | undefined,
): RegistryConsumer | undefined {
  const current = registry.consumers[consumerKey];
  if (!instance || !current?.instance || current.instance === instance) return undefined;
  return current;
}

/** The sweepers' rule: seen within `staleAfterMs`, or one of its devices still alive. */
export function isLiveConsumer(
  consumer: RegistryConsumer,
  opts: { now: number; staleAfterMs: number; liveDevices: ReadonlySet<string> },
): boolean {
  const age = opts.now - Date.parse(consumer.lastSeen);
  if (Number.isFinite(age) && age <= opts.staleAfterMs) return true;
  return (consumer.devices ?? []).some((d) => opts.liveDevices.has(d));
}

interface OwnerReferences {
  ownerRefs?: { operatorID?: string; resource?: unknown }[];
}

function parseOwnerReferences(annotations: Record<string, string> | undefined): OwnerReferences | undefined {
  const raw = annotations?.[tailscaleOwnerReferencesAnnotation];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as OwnerReferences;
  } catch {
    return { ownerRefs: [{ operatorID: '<unparseable>' }] };
  }
}

/**
 * Adds `operatorID` to Tailscale's own owner references, so Tailscale's operator treats the service as
 * shared (it appends itself rather than refusing) and never deletes it while we are listed.
 */
export function withOwnerReference(
  annotations: Record<string, string>,
  operatorID: string,
): Record<string, string> {
  const refs = parseOwnerReferences(annotations)?.ownerRefs ?? [];
  if (refs.some((r) => r.operatorID === operatorID)) return annotations;
  return {
    ...annotations,
    [tailscaleOwnerReferencesAnnotation]: JSON.stringify({ ownerRefs: [...refs, { operatorID }] }),
  };
}

export function withoutOwnerReference(
  annotations: Record<string, string>,
  operatorID: string,
): Record<string, string> {
  const parsed = parseOwnerReferences(annotations);
  if (!parsed) return annotations;
  const refs = (parsed.ownerRefs ?? []).filter((r) => r.operatorID !== operatorID);
  const next = { ...annotations };
  if (refs.length) next[tailscaleOwnerReferencesAnnotation] = JSON.stringify({ ownerRefs: refs });
  else delete next[tailscaleOwnerReferencesAnnotation];
  return next;
}

/** Owner references of operators outside our registry (e.g. Tailscale's operator): the service must stay. */
export function foreignOwnerReferences(
  annotations: Record<string, string> | undefined,
  registry: ServiceRegistry | undefined,
): string[] {
  const ours = new Set(Object.keys(registry?.consumers ?? {}));
  return (parseOwnerReferences(annotations)?.ownerRefs ?? [])
    .map((r) => r.operatorID ?? '<unnamed>')
    .filter((id) => !ours.has(id));
}
