import { patched } from '@temporalio/workflow';

/**
 * Every patch the workflows held when they were folded into one (2026-12-07). The list is closed: a
 * patch added later calls `patched()` from `@temporalio/workflow` itself until a new fold, with a new
 * fold id, takes it in (docs/worker-versioning.md).
 */
export type ShippedPatch =
  | 'gateway-late-reply-is-news'
  | 'gateway-pool-hosting'
  | 'gateway-ready-needs-approved-host'
  | 'proxy-group-egress'
  | 'proxy-known-devices-from-configs'
  | 'proxy-observe-only-on-state-secrets'
  | 'proxy-tells-vip-of-new-hosts'
  | 'resource-cleanup-continue-as-new'
  | 'resource-hold-added-finalizer'
  | 'resource-memo-seen-fingerprint'
  | 'resource-retry-newest-snapshot'
  | 'resource-skip-own-finalizer-echo'
  | 'services-advertise-after-claim'
  | 'services-backend-serve-config'
  | 'services-cleanup-continue-as-new'
  | 'services-cleanup-unwedged'
  | 'services-hosts-news-status-only'
  | 'services-late-reply-acknowledges'
  | 'services-leave-when-gone'
  | 'services-pass-on-vip-news'
  | 'services-reads-alongside'
  | 'services-ready-needs-approved-host'
  | 'services-withhold-clashing-name'
  | 'vip-claims-by-creation'
  | 'vip-fewer-round-trips'
  | 'vip-keep-settle-after-read'
  | 'vip-late-reply-is-news'
  | 'vip-ready-needs-approved-host'
  | 'vip-report-answered-only'
  | 'vip-reports-in-the-deciding-task'
  | 'vip-settle-check'
  | 'vip-wait-on-name-clash';

/** The marker that stands for every patch of `ShippedPatch`. */
const shippedFold = 'patches-shipped-by-2026-12-07';

/**
 * `patched(id)` for a patch of `ShippedPatch`, at the cost of one patch for the whole run. Temporal's
 * core SDK records a marker and upserts the TemporalChangeVersion search attribute (a billed action and
 * a visibility write) the first time a run meets each patch: 8 upserts in a new TailscaleServices
 * workflow and 6 in a VIP workflow, 41 % of their actions. Live, every patch is taken, so a run that
 * reaches the fold live takes all of them through its one marker. A history recorded before the fold
 * has no such marker: replay answers each patch from its own marker, exactly as before.
 */
export function hasShippedPatch(id: ShippedPatch): boolean {
  return patched(shippedFold) || patched(id);
}
