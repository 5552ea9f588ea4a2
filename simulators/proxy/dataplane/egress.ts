/**
 * Egress through the box: each ready replica listens on loopbackFor(pod IP):matchPort for every TCP
 * port of its `egress-services` config and forwards to loopbackFor(tailnet target):targetPort, where
 * containerboot would install its DNAT rule, dialling from loopbackFor(its own tailnet IPv4) as its SNAT
 * rule makes the target see it; then reports what it applied in the state Secret key `egress-services`
 * (cmd/containerboot/egressservices.go at tailscale v1.102.5), only when that changes.
 */
import type { Server } from 'node:net';
import type { Logger } from '../../../runtime/logger';
import type { ProxySecrets } from '../secrets';
import { loopbackFor } from './addresses';
import type { Address } from './backends';
import type { EgressConfigs, PortMap } from './egress-config';
import { listen, stopListening } from './listeners';
import { forward, halfOpenServer } from './tcp-pipe';
import { resolveTailnetTarget, tailnetOf, type TailnetView } from './tailnet-view';

export const egressStatusKey = 'egress-services';

export interface EgressReplica {
  key: string;
  namespace: string;
  stateSecret: string;
  podIP: string;
  nodeId: string;
  egress: EgressConfigs | undefined;
}

export interface EgressStatus {
  podIPv4: string;
  services: Record<
    string,
    { ports: PortMap[]; tailnetTargetIPs: string[]; tailnetTarget: { ip: string; fqdn: string } }
  >;
}

interface Rule {
  server: Server;
  target: Address;
  /** The replica's tailnet address on loopback, the source the target sees. */
  source: string | undefined;
}

interface Forwarding {
  target: Address;
  source: string | undefined;
}

/** What a replica applies: the status it reports and, per listen address, where it forwards. */
export function egressRules(
  replica: EgressReplica,
  view: TailnetView | undefined,
): { status: EgressStatus; rules: Map<string, Forwarding> } {
  const status: EgressStatus = { podIPv4: replica.podIP, services: {} };
  const rules = new Map<string, Forwarding>();
  const self = view?.devices.find((d) => d.nodeId === replica.nodeId)?.ipv4;
  const source = self ? loopbackFor(self) : undefined;
  for (const [name, config] of Object.entries(replica.egress ?? {})) {
    const target = view && resolveTailnetTarget(view, config.tailnetTarget);
    if (!target) continue;
    status.services[name] = {
      ports: config.ports,
      tailnetTargetIPs: [target],
      tailnetTarget: { ip: config.tailnetTarget.ip ?? '', fqdn: config.tailnetTarget.fqdn ?? '' },
    };
    for (const port of config.ports) {
      if (port.protocol !== 'TCP') continue;
      rules.set(`${loopbackFor(replica.podIP)}:${port.matchPort}`, {
        target: { host: loopbackFor(target), port: port.targetPort },
        source,
      });
    }
  }
  return { status, rules };
}

export class EgressPlane {
  private readonly rules = new Map<string, Map<string, Rule>>();
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly secrets: ProxySecrets,
    private readonly logger: Logger,
  ) {}

  async reconcile(replicas: EgressReplica[], views: TailnetView[]): Promise<void> {
    const live = new Set(replicas.map((r) => r.key));
    for (const key of [...this.rules.keys()]) if (!live.has(key)) await this.drop(key);
    for (const key of [...this.reported.keys()]) if (!live.has(key)) this.reported.delete(key);
    for (const replica of replicas) {
      if (!replica.egress) {
        await this.drop(replica.key);
        continue;
      }
      const { status, rules } = egressRules(replica, tailnetOf(views, replica.nodeId));
      await this.apply(replica.key, rules);
      await this.report(replica, status);
    }
  }

  async close(): Promise<void> {
    for (const key of [...this.rules.keys()]) await this.drop(key);
  }

  private async apply(key: string, wanted: Map<string, Forwarding>): Promise<void> {
    const current = this.rules.get(key) ?? new Map<string, Rule>();
    this.rules.set(key, current);
    for (const [at, rule] of [...current]) {
      if (!wanted.has(at)) {
        current.delete(at);
        await stopListening(rule.server);
      }
    }
    for (const [at, { target, source }] of wanted) {
      const existing = current.get(at);
      if (existing) {
        Object.assign(existing, { target, source });
        continue;
      }
      const rule: Rule = { server: halfOpenServer(), target, source };
      rule.server.on('connection', (socket) => void forward(socket, [rule.target], rule.source));
      const colon = at.lastIndexOf(':');
      try {
        await listen(rule.server, at.slice(0, colon), Number(at.slice(colon + 1)));
        current.set(at, rule);
      } catch (err) {
        this.logger.warn('cannot listen for an egress port', { address: at, error: (err as Error).message });
      }
    }
  }

  private async report(replica: EgressReplica, status: EgressStatus): Promise<void> {
    const text = JSON.stringify(status);
    let last = this.reported.get(replica.key);
    if (last === undefined) {
      last = (await this.secrets.read(replica.namespace, replica.stateSecret))?.[egressStatusKey];
    }
    if (last !== text)
      await this.secrets.patch(replica.namespace, replica.stateSecret, { [egressStatusKey]: text });
    this.reported.set(replica.key, text);
  }

  private async drop(key: string): Promise<void> {
    for (const rule of this.rules.get(key)?.values() ?? []) await stopListening(rule.server);
    this.rules.delete(key);
  }
}
