/**
 * What the Temporal UI shows of a workflow: its current details (the UI's User Metadata, markdown, set
 * with setCurrentDetails) and a one-line summary on each activity, so the Timeline reads as the
 * lifecycle. Pure text built from what the workflow already holds. Current details are no command;
 * an activity's summary rides in its schedule command's user metadata, which replay does not compare
 * (docs/worker-versioning.md), so neither can make a history nondeterministic.
 */
import type { VipServiceHostView } from '../activities/vip/hosts';
import type { ResourceWorkflowStatus, VipServiceReport } from './messages';

const maxSummaryLength = 200;

type Fields = Record<string, unknown>;
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
const clip = (line: string) =>
  line.length > maxSummaryLength ? `${line.slice(0, maxSummaryLength - 3)}...` : line;

/** `patchStatus` → `patch status`. */
const words = (camel: string) => camel.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();

/** The object an input names: `Kind ns/name`, `svc:x on tailnet t`, as far as its fields say. */
function subjectOf(input: Fields): string {
  const resource = input.resource as Fields | undefined;
  const name = text(input.name);
  const namespace = text(input.namespace);
  const object = name ? (namespace ? `${namespace}/${name}` : name) : namespace && `namespace ${namespace}`;
  return [
    text(resource?.kind),
    object,
    text(input.serviceName),
    text(input.tailnet) && `on tailnet ${String(input.tailnet)}`,
  ]
    .filter(Boolean)
    .join(' ');
}

const bracket = (names: string[]) => `[${names.join(', ')}]`;

/** The activities whose input tells more than their subject. */
const specific: Record<string, (input: Fields) => string | undefined> = {
  attachVipService: (i) =>
    `attach ${subjectOf(i)} for ${list(i.routes).join(', ') || 'no route'} (${list(i.devices).length} device(s))`,
  detachVipService: (i) => `detach from ${subjectOf(i)}`,
  reportToVipConsumers: (i) =>
    `report the outcome to ${Array.isArray(i.reports) ? i.reports.length : 0} consumer workflow(s)`,
  signalVipService: (i) =>
    `${i.remove ? 'leave' : 'join'} ${subjectOf(i)} (request ${String(i.requestId)}${i.unlessRunning ? ', only if idle' : ''})`,
  setAdvertisedServices: (i) => {
    const on = list(i.advertiseOn);
    const off = list(i.withdrawFrom);
    return (
      `advertise ${String(i.serviceName)} on ${bracket(on)}` +
      (off.length ? `, withdraw from ${bracket(off)}` : '') +
      (i.serve === null ? ', remove its serve config' : i.serve ? ', write its serve config' : '')
    );
  },
  patchStatus: (i) => {
    const conditions = Array.isArray(i.conditions) ? (i.conditions as Fields[]) : [];
    const summary = conditions.find((c) => c.type === 'Ready' || c.type === 'Accepted') ?? conditions[0];
    const said = summary
      ? `: ${String(summary.type)}=${String(summary.status)} ${String(summary.reason)}`
      : '';
    return `publish status of ${subjectOf(i)}${said}`;
  },
  ensureFinalizer: (i) => `add our finalizer to ${subjectOf(i)}`,
  removeFinalizer: (i) => `remove our finalizer from ${subjectOf(i)}`,
  getTailnetStatus: (i) => `read TailscaleTailnet ${String(i.name)}`,
};

/** One line for the Timeline: what the activity does to what. */
export function activitySummary(activityType: string, args: readonly unknown[]): string {
  const input = (args[0] !== null && typeof args[0] === 'object' ? args[0] : {}) as Fields;
  const subject = subjectOf(input);
  return clip(specific[activityType]?.(input) ?? `${words(activityType)}${subject ? ` ${subject}` : ''}`);
}

/** `name approved (approved:auto)`, `name not approved`, `name not advertising`. */
export function hostsText(hosts: readonly VipServiceHostView[] | undefined): string {
  if (!hosts) return 'not read';
  if (!hosts.length) return 'none';
  return hosts
    .map((h) =>
      !h.advertising
        ? `${h.name} not advertising`
        : h.approved
          ? `${h.name} approved${h.approvalLevel ? ` (${h.approvalLevel})` : ''}`
          : `${h.name} not approved`,
    )
    .join(', ');
}

const when = (inMs: number | undefined, what: string) =>
  inMs === undefined
    ? `- Next check: ${what}`
    : `- Next check: ${what} at ${new Date(Date.now() + inMs).toISOString()}`;

/** A reconcile loop (every object workflow): where it is, its last error, when it looks again. */
export function resourceDetails(
  input: { kind: string; namespace?: string; name: string },
  status: ResourceWorkflowStatus,
  nextCheckMs: number | undefined,
  more: readonly string[] = [],
): string {
  const object = input.namespace ? `${input.namespace}/${input.name}` : input.name;
  const generation =
    status.observedGeneration === undefined ? '' : `, generation ${status.observedGeneration}`;
  return [
    `**${input.kind} ${object}**: ${status.phase}, ${status.reconciles} pass(es)${generation}`,
    ...more,
    `- Last error: ${status.lastError ?? 'none'}`,
    when(nextCheckMs, nextCheckMs === undefined ? 'on the next change' : 're-check'),
  ].join('\n');
}

/** A VIP consumer's lines: the service as its VIP workflow last reported it, and its hosts. */
export function vipConsumerLines(report: VipServiceReport | undefined): string[] {
  if (!report) return ['- VIP service: no report yet'];
  const addresses = report.addresses.length ? ` (${report.addresses.join(', ')})` : '';
  return [
    `- VIP service: ${report.serviceName}${addresses}, ${report.outcome}${report.error ? `: ${report.error}` : ''}`,
    `- Hosts: ${hostsText(report.hosts)}`,
  ];
}

export interface VipDetailsInput {
  tailnet: string;
  serviceName: string;
  /** The local objects using it (their routes). */
  consumers: string[];
  last: VipServiceReport | undefined;
  /** Undefined: no timer, only a consumer's change wakes the workflow. */
  nextCheckMs: number | undefined;
  failures: number;
  settling: boolean;
  pollHosts: boolean;
}

/** The VIP service workflow: the service, who uses it, its hosts, the last error, the next look. */
export function vipServiceDetails(d: VipDetailsInput): string {
  const last = d.last;
  const addresses = last?.addresses.length ? ` (${last.addresses.join(', ')})` : '';
  return [
    `**${d.serviceName}** on tailnet ${d.tailnet}: ${last?.outcome ?? 'not applied yet'}${addresses}`,
    `- Consumers here: ${d.consumers.length ? d.consumers.join(', ') : 'none'}` +
      (last ? `; installs attached: ${last.consumers}` : ''),
    `- Hosts: ${hostsText(last?.hosts)}`,
    `- Last error: ${last?.error ?? 'none'}`,
    when(d.nextCheckMs, vipNextCheck(d)),
  ].join('\n');
}

function vipNextCheck(d: VipDetailsInput): string {
  if (d.nextCheckMs === undefined) return "a consumer's change (Tailscale refused the name)";
  if (d.failures) return `retry after ${d.failures} failure(s)`;
  if (d.settling) return 'settle check (read back our write)';
  if (d.pollHosts) return 'look for an approved host';
  return d.consumers.length ? 're-check' : 'finish unless a consumer joins';
}
