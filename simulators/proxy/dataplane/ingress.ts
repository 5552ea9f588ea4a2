/**
 * Ingress through the box: a front listener on loopbackFor(VIP):port per port of a VIP service that
 * has an approved, connected advertising replica (what control's AllowedIPs and the `service-host`
 * capability amount to), handing each new connection to one such replica (rotating; a replica that
 * refuses is skipped). Each replica listens on loopbackFor(its tailnet IPv4) per service port and
 * handles connections by its serve config: `TCPForward` pipes, `HTTP`/`HTTPS` go to its web handlers.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server, Socket } from 'node:net';
import type { Logger } from '../../../runtime/logger';
import { loopbackFor } from './addresses';
import type { Address, BackendResolver } from './backends';
import { listen, stopListening } from './listeners';
import { selfSignedCertificate, type KeyAndCert } from './self-signed';
import type { ServeConfig, TcpPortHandler } from './serve-config';
import { forward, halfOpenServer, rotated } from './tcp-pipe';
import type { TailnetView } from './tailnet-view';
import { serveWeb } from './web-handlers';

export interface IngressReplica {
  key: string;
  nodeId: string;
  /** Its pod IP: connections to backends come from loopbackFor(podIP), as from the pod. */
  podIP: string;
  serve: ServeConfig | undefined;
}

type Mode = 'tcp' | 'http' | 'https';

interface ReplicaPort {
  mode: Mode;
  server: Server;
  address: Address;
}

interface Front {
  server: Server;
  replicas: Address[];
  next: number;
}

export function modeOf(handler: TcpPortHandler | undefined): Mode | undefined {
  if (handler?.TCPForward) return 'tcp';
  if (handler?.HTTPS) return 'https';
  if (handler?.HTTP) return 'http';
  return undefined;
}

/** `host:port` with an IPv4, a name, or a bracketed IPv6 host. */
export function splitHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!match || Number(match[3]) > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}

export class IngressPlane {
  /** replica key → `<service>|<port>` → its listener. */
  private readonly replicaPorts = new Map<string, Map<string, ReplicaPort>>();
  private readonly serveConfigs = new Map<string, ServeConfig | undefined>();
  private readonly fronts = new Map<string, Front>();
  private readonly certs = new Map<string, KeyAndCert>();
  private next = 0;

  constructor(
    private readonly resolver: BackendResolver,
    private readonly logger: Logger,
  ) {}

  /** Brings listeners in line with the replicas' serve configs and the tailnet's approvals. */
  async reconcile(replicas: IngressReplica[], views: TailnetView[]): Promise<void> {
    const ipOf = new Map(views.flatMap((v) => v.devices.map((d) => [d.nodeId, d.ipv4] as const)));
    const fqdnOf = new Map(views.flatMap((v) => v.services.map((s) => [s.name, s.fqdn] as const)));
    const live = new Set<string>();
    for (const replica of replicas) {
      const ip = ipOf.get(replica.nodeId);
      if (!ip) continue;
      live.add(replica.key);
      this.serveConfigs.set(replica.key, replica.serve);
      await this.reconcileReplica(replica, ip, fqdnOf);
    }
    for (const key of [...this.replicaPorts.keys()]) if (!live.has(key)) await this.dropReplica(key);

    const byNode = new Map(replicas.map((r) => [r.nodeId, r.key]));
    const wanted = new Map<string, Address[]>();
    for (const service of views.flatMap((v) => v.services)) {
      for (const nodeId of service.approvedHosts) {
        const key = byNode.get(nodeId);
        for (const [id, port] of (key && this.replicaPorts.get(key)) || []) {
          const [name, portText] = id.split('|');
          if (name !== service.name) continue;
          const front = `${loopbackFor(service.vipv4)}:${portText}`;
          wanted.set(front, [...(wanted.get(front) ?? []), port.address]);
        }
      }
    }
    for (const [id, front] of [...this.fronts]) {
      if (!wanted.has(id)) {
        this.fronts.delete(id);
        await stopListening(front.server);
      }
    }
    for (const [id, addresses] of wanted) {
      const existing = this.fronts.get(id);
      if (existing) {
        existing.replicas = addresses;
        continue;
      }
      const front: Front = { server: halfOpenServer(), replicas: addresses, next: 0 };
      front.server.on('connection', (socket: Socket) => {
        void forward(socket, rotated(front.replicas, front.next++));
      });
      const [host, port] = [id.slice(0, id.lastIndexOf(':')), Number(id.slice(id.lastIndexOf(':') + 1))];
      try {
        await listen(front.server, host, port);
        this.fronts.set(id, front);
      } catch (err) {
        this.logger.warn('cannot listen for a VIP service port', {
          address: id,
          error: (err as Error).message,
        });
      }
    }
  }

  async close(): Promise<void> {
    for (const key of [...this.replicaPorts.keys()]) await this.dropReplica(key);
    for (const front of this.fronts.values()) await stopListening(front.server);
    this.fronts.clear();
  }

  private async reconcileReplica(replica: IngressReplica, ip: string, fqdnOf: Map<string, string>) {
    const ports = this.replicaPorts.get(replica.key) ?? new Map<string, ReplicaPort>();
    this.replicaPorts.set(replica.key, ports);
    const wanted = new Map<string, Mode>();
    for (const [name, service] of Object.entries(replica.serve?.Services ?? {})) {
      for (const [port, handler] of Object.entries(service?.TCP ?? {})) {
        const mode = modeOf(handler);
        if (mode) wanted.set(`${name}|${port}`, mode);
      }
    }
    for (const [id, port] of [...ports]) {
      if (wanted.get(id) !== port.mode) {
        ports.delete(id);
        await stopListening(port.server);
      }
    }
    for (const [id, mode] of wanted) {
      if (ports.has(id)) continue;
      const [name, portText] = id.split('|') as [string, string];
      const server = this.replicaServer(replica, name, Number(portText), mode, fqdnOf.get(name));
      if (!server) continue;
      const host = loopbackFor(ip);
      const bound = await listen(server, host, 0);
      ports.set(id, { mode, server, address: { host, port: bound } });
    }
  }

  private replicaServer(
    replica: IngressReplica,
    service: string,
    port: number,
    mode: Mode,
    fqdn: string | undefined,
  ) {
    const serviceConfig = () => this.serveConfigs.get(replica.key)?.Services?.[service];
    const localAddress = loopbackFor(replica.podIP);
    if (mode === 'tcp') {
      return halfOpenServer((socket) => {
        void (async () => {
          const target = splitHostPort(serviceConfig()?.TCP?.[String(port)]?.TCPForward ?? '');
          const addresses = target ? await this.resolver.resolve(target.host, target.port) : [];
          await forward(socket, rotated(addresses, this.next++), localAddress);
        })().catch(() => socket.destroy());
      });
    }
    const handle = (scheme: 'http' | 'https') => (req: IncomingMessage, res: ServerResponse) => {
      const web = serviceConfig()?.Web?.[`${fqdn}:${port}`];
      const ctx = { resolver: this.resolver, scheme, nextIndex: () => this.next++, localAddress };
      serveWeb(web, req, res, ctx).catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
    };
    if (mode === 'http') return createHttpServer(handle('http'));
    if (!fqdn) return undefined;
    let cert = this.certs.get(fqdn);
    if (!cert) this.certs.set(fqdn, (cert = selfSignedCertificate(fqdn)));
    return createHttpsServer({ key: cert.key, cert: cert.cert }, handle('https'));
  }

  private async dropReplica(key: string): Promise<void> {
    for (const port of this.replicaPorts.get(key)?.values() ?? []) await stopListening(port.server);
    this.replicaPorts.delete(key);
    this.serveConfigs.delete(key);
  }
}
