/**
 * A real backend for the box's data path: HTTP answers every request with JSON
 * `{server, method, path, host, headers}`; the raw TCP port echoes bytes back.
 *   node dist/tools/echo-server.js --http 127.250.0.1:8080 --tcp 127.250.0.1:9000 --name web
 * Prints `{"http":"host:port","tcp":"host:port"}` once listening (port 0 picks a free one).
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { parseArgs } from 'node:util';

export interface EchoServerOptions {
  name: string;
  /** `host:port` for HTTP. */
  http?: string;
  /** `host:port` for the raw TCP echo. */
  tcp?: string;
}

export interface EchoServer {
  /** Bound `host:port`s. */
  http?: string;
  tcp?: string;
  close(): Promise<void>;
}

export interface EchoAnswer {
  server: string;
  method: string;
  path: string;
  host: string;
  /** The connecting peer's address (a proxy's pod IP on loopback, for requests through the box). */
  remote: string;
  headers: Record<string, string | string[] | undefined>;
}

function hostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`want host:port, got ${JSON.stringify(text)}`);
  }
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

function listenOn(server: Server | HttpServer, address: string): Promise<string> {
  const { host, port } = hostPort(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? `${host}:${bound.port}` : address);
    });
  });
}

const closeServer = (server: Server | HttpServer) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    if ('closeAllConnections' in server) server.closeAllConnections();
  });

export async function startEchoServer(opts: EchoServerOptions): Promise<EchoServer> {
  const servers: (Server | HttpServer)[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const result: EchoServer = {
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map(closeServer));
    },
  };
  try {
    if (opts.http) {
      const http = createHttpServer((req, res) => {
        req.resume();
        req.once('end', () => {
          const answer: EchoAnswer = {
            server: opts.name,
            method: req.method ?? '',
            path: req.url ?? '',
            host: req.headers.host ?? '',
            remote: req.socket.remoteAddress ?? '',
            headers: req.headers,
          };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        });
      });
      servers.push(http);
      result.http = await listenOn(http, opts.http);
    }
    if (opts.tcp) {
      const tcp = createServer((socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
        socket.pipe(socket);
      });
      servers.push(tcp);
      result.tcp = await listenOn(tcp, opts.tcp);
    }
  } catch (err) {
    await result.close();
    throw err;
  }
  return result;
}

export function parseEchoArgs(argv: string[]): EchoServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: { http: { type: 'string' }, tcp: { type: 'string' }, name: { type: 'string', default: 'echo' } },
  });
  if (!values.http && !values.tcp) throw new Error('give --http host:port and/or --tcp host:port');
  return { ...values };
}

if (require.main === module) {
  startEchoServer(parseEchoArgs(process.argv.slice(2)))
    .then((server) => {
      process.stdout.write(`${JSON.stringify({ http: server.http, tcp: server.tcp })}\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((err: unknown) => {
      process.stderr.write(`echo-server: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
