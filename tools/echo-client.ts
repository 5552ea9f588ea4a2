/**
 * The client side of tools/echo-server.ts (tests and bench/): an HTTP(S) request answered with its
 * JSON, a raw TCP exchange and a bulk TCP transfer. Each call opens a fresh connection unless given an
 * agent, so each one is a new connection through the box's data plane.
 */
import { request as httpRequest, type Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { EchoAnswer } from './echo-server';

export interface EchoRequest {
  host: string;
  port: number;
  path: string;
  /** The Host header (and the TLS server name with `tls`). */
  hostHeader?: string;
  tls?: boolean;
  /** A keep-alive agent to reuse connections; by default none (a fresh connection per request). */
  agent?: Agent;
}

/** The echo server's answer, and with `tls` the certificate's subjectAltName. */
export function echoGet(opts: EchoRequest): Promise<{ answer: EchoAnswer; san?: string }> {
  return new Promise((resolve, reject) => {
    const send = opts.tls ? httpsRequest : httpRequest;
    const req = send(
      {
        host: opts.host,
        port: opts.port,
        path: opts.path,
        agent: opts.agent ?? false,
        timeout: 5_000,
        ...(opts.hostHeader ? { headers: { host: opts.hostHeader } } : {}),
        ...(opts.tls ? { servername: opts.hostHeader, rejectUnauthorized: false } : {}),
      },
      (res) => {
        const san = opts.tls ? (res.socket as TLSSocket).getPeerCertificate().subjectaltname : undefined;
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          try {
            resolve({ answer: JSON.parse(body) as EchoAnswer, san });
          } catch {
            reject(new Error(`status ${res.statusCode}: ${body}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Sends `text`, half-closes, and resolves to everything read back before the connection closed. */
export function tcpEcho(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => socket.end(text));
    let got = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (d: Buffer) => (got += d.toString()));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

/**
 * Streams `bytes` to the TCP echo at `host:port` in 64 KiB chunks, half-closes, and resolves to the
 * number of bytes read back before the connection closed.
 */
export function tcpBulk(host: string, port: number, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(Math.min(bytes, 64 * 1024), 0x61);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let received = 0;
    const socket = connect({ host, port }, () => {
      const write = (): void => {
        while (sent < bytes) {
          const n = Math.min(chunk.length, bytes - sent);
          sent += n;
          if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            socket.once('drain', write);
            return;
          }
        }
        socket.end();
      };
      write();
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error(`stalled after ${received} bytes`)));
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}
