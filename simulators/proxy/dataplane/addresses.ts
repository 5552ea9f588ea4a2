/**
 * The box's address rule ("tailnet in a box"): every IPv4 address a.b.c.d the box plays (tailnet
 * 100.64.0.0/10, proxy pod IPs 10.244.x.y, backend endpoint IPs 10.250.x.y) is reachable on loopback at
 * 127.b.c.d. Linux routes all of 127.0.0.0/8 to `lo`, so each one can be bound without configuration.
 * Second octets stay disjoint: tailnet 64–127, pod IPs 244, endpoints written by tests 250.
 */
import { isIPv4 } from 'node:net';

/** The loopback address standing in for `ip` (IPv4 only; the box carries no IPv6). */
export function loopbackFor(ip: string): string {
  if (!isIPv4(ip)) throw new Error(`the box maps only IPv4 addresses to loopback, not ${JSON.stringify(ip)}`);
  const [, b, c, d] = ip.split('.');
  return `127.${b}.${c}.${d}`;
}

/** `host:port` (IPv4 only), or undefined when `text` is not one. */
export function parseIpv4HostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!match || !isIPv4(match[1]!) || Number(match[2]) > 65535) return undefined;
  return { host: match[1]!, port: Number(match[2]) };
}
