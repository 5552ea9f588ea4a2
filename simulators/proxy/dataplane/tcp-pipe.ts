/** Joining an accepted connection to the first of several addresses that accepts one. */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Address } from './backends';

/**
 * Connects to `address` (from `localAddress` when given: a replica dials from its pod IP, as a pod
 * would); rejects on a connect error (refused, unreachable).
 */
export function dial(address: Address, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port, allowHalfOpen: true, localAddress });
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/** The first of `addresses` (in order) that accepts a connection, or undefined. */
export async function dialFirst(addresses: Address[], localAddress?: string): Promise<Socket | undefined> {
  for (const address of addresses) {
    try {
      return await dial(address, localAddress);
    } catch {
      // the next one
    }
  }
  return undefined;
}

/**
 * Pipes both ways; an end travels across (half-close, so an echo can still answer), and a side that
 * fails or closes ends both. Accepting servers need `allowHalfOpen` (halfOpenServer) for this.
 */
export function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.once('error', end);
  b.once('error', end);
  a.once('close', end);
  b.once('close', end);
}

/** A TCP server whose sockets stay writable after the peer's FIN, as the kernel's forwarding would. */
export const halfOpenServer = (onConnection?: (socket: Socket) => void): Server =>
  createServer({ allowHalfOpen: true }, onConnection);

/** Pauses `client` until the first reachable address answers, then pipes; refuses it when none does. */
export async function forward(client: Socket, addresses: Address[], localAddress?: string): Promise<boolean> {
  client.pause();
  client.once('error', () => client.destroy());
  const upstream = await dialFirst(addresses, localAddress);
  if (!upstream || client.destroyed) {
    upstream?.destroy();
    client.destroy();
    return false;
  }
  pipeBoth(client, upstream);
  client.resume();
  return true;
}

/** `items` starting at `start` (mod length): one rotation step per connection. */
export function rotated<T>(items: T[], start: number): T[] {
  if (!items.length) return items;
  const at = start % items.length;
  return [...items.slice(at), ...items.slice(0, at)];
}
