/**
 * A replica's HTTP(S) handling for one VIP service port, as tailscaled does it for a service
 * (ipn/ipnlocal/serve.go at tailscale v1.102.5): the `Web["<label>.<suffix>:<port>"]` entry, the handler
 * whose mount point best matches the path, then `Proxy` (reverse proxy: mount point stripped, upstream
 * path joined, inbound Host kept, X-Forwarded-* added), `Text` or `Redirect`.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { BackendResolver } from './backends';
import type { HttpHandler, WebServerConfig } from './serve-config';
import { rotated } from './tcp-pipe';

/** The handler for `path`: an exact mount, else the longest mount that is a directory prefix of it. */
export function handlerFor(
  web: WebServerConfig | undefined,
  path: string,
): { mount: string; handler: HttpHandler } | undefined {
  const handlers = web?.Handlers ?? {};
  const exact = handlers[path];
  if (exact) return { mount: path, handler: exact };
  let best: { mount: string; handler: HttpHandler } | undefined;
  for (const [mount, handler] of Object.entries(handlers)) {
    if (!handler) continue;
    const dir = mount.endsWith('/') ? mount : `${mount}/`;
    if ((path.startsWith(dir) || `${path}/` === dir) && (!best || mount.length > best.mount.length))
      best = { mount, handler };
  }
  return best;
}

/** The upstream URL of a `Proxy` value: a port, `host:port`, or a URL (`https+insecure` allowed). */
export function proxyTarget(proxy: string): { url: URL; insecure: boolean } | undefined {
  let text = proxy;
  if (/^\d+$/.test(text)) text = `http://127.0.0.1:${text}`;
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `http://${text}`;
  const insecure = text.startsWith('https+insecure://');
  if (insecure) text = `https://${text.slice('https+insecure://'.length)}`;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? { url, insecure } : undefined;
  } catch {
    return undefined;
  }
}

/** Go's singleJoiningSlash (net/http/httputil). */
export function joinPaths(a: string, b: string): string {
  const aSlash = a.endsWith('/');
  const bSlash = b.startsWith('/');
  if (aSlash && bSlash) return a + b.slice(1);
  if (!aSlash && !bSlash) return `${a}/${b}`;
  return a + b;
}

export interface WebContext {
  resolver: BackendResolver;
  scheme: 'http' | 'https';
  /** Rotates among endpoints across requests. */
  nextIndex: () => number;
  /** The replica's pod IP on loopback, the source of its requests to backends. */
  localAddress?: string;
}

export async function serveWeb(
  web: WebServerConfig | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: WebContext,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const match = handlerFor(web, url.pathname);
  if (!match) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
    return;
  }
  const { handler, mount } = match;
  if (handler.Text !== undefined && handler.Text !== '') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(handler.Text);
    return;
  }
  if (handler.Redirect) {
    const [, code, target] = /^(?:(\d{3}):)?(.*)$/s.exec(handler.Redirect)!;
    const location = target!
      .replaceAll('${HOST}', req.headers.host ?? '')
      .replaceAll('${REQUEST_URI}', req.url ?? '/');
    res.writeHead(code ? Number(code) : 302, { location }).end();
    return;
  }
  const target = handler.Proxy ? proxyTarget(handler.Proxy) : undefined;
  if (!target) {
    res.writeHead(500).end('serve handler has nothing to serve\n');
    return;
  }
  const trimmedMount = mount.replace(/\/$/, '');
  const rest = url.pathname.slice(trimmedMount.length);
  const path = rest === '' ? target.url.pathname : joinPaths(target.url.pathname, rest);
  const defaultPort = target.url.protocol === 'https:' ? 443 : 80;
  const addresses = rotated(
    await ctx.resolver.resolve(target.url.hostname, Number(target.url.port || defaultPort)),
    ctx.nextIndex(),
  );
  const headers = { ...req.headers };
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = ctx.scheme;
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const attempt = (i: number): void => {
    const address = addresses[i];
    if (!address) {
      res.writeHead(502).end('no backend reachable\n');
      return;
    }
    const upstream = send(
      {
        host: address.host,
        port: address.port,
        method: req.method,
        path: path + url.search,
        headers,
        localAddress: ctx.localAddress,
        ...(target.url.protocol === 'https:'
          ? { servername: target.url.hostname, rejectUnauthorized: !target.insecure }
          : {}),
      },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      if (!res.headersSent && err.code === 'ECONNREFUSED') attempt(i + 1);
      else if (!res.headersSent) res.writeHead(502).end('backend error\n');
      else res.destroy();
    });
    upstream.end(body);
  };
  // Buffered, so a connect failure can move on to the next endpoint with the same request.
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  attempt(0);
}
