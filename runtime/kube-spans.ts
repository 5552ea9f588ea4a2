/**
 * Kubernetes API requests as client spans, children of the span active when they are made (an
 * activity's, with traces on). Method, path template and status only: no object name, query, header
 * or body reaches a span, so neither a Secret's name nor its data does.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  createConfiguration,
  IsomorphicFetchHttpLibrary,
  Observable,
  ServerConfiguration,
  type ApiConstructor,
  type ApiType,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { operatorTracer } from './spans';

/**
 * `/api/v1/namespaces/{namespace}/secrets/{name}`: the group, version, resource and subresource stay,
 * the namespace and object names go.
 */
export function kubePathTemplate(path: string): string {
  const segments = path.split('?')[0]!.split('/').filter(Boolean);
  const prefixLength = segments[0] === 'api' ? 2 : segments[0] === 'apis' ? 3 : segments.length;
  const out = segments.slice(0, prefixLength);
  let rest = segments.slice(prefixLength);
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    out.push('namespaces', '{namespace}');
    rest = rest.slice(2);
  }
  if (rest.length) out.push(rest[0]!);
  if (rest.length > 1) out.push('{name}', ...rest.slice(2));
  return `/${out.join('/')}`;
}

/** Sends as client-node does, in a span when a trace is going on (no root spans for lease renewals). */
export class TracedHttpLibrary implements HttpLibrary {
  constructor(private readonly inner: HttpLibrary = new IsomorphicFetchHttpLibrary()) {}

  send(request: RequestContext): Observable<ResponseContext> {
    if (!trace.getActiveSpan()) return this.inner.send(request);
    const url = new URL(request.getUrl());
    const method = String(request.getHttpMethod());
    const template = kubePathTemplate(url.pathname);
    const span = operatorTracer().startSpan(`kubernetes ${method} ${template}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': method, 'url.template': template, 'server.address': url.host },
    });
    const sent = this.inner
      .send(request)
      .toPromise()
      .then(
        (response) => {
          span.setAttribute('http.response.status_code', response.httpStatusCode);
          if (response.httpStatusCode >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
          return response;
        },
        (err: unknown) => {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
          throw err;
        },
      );
    return new Observable(sent);
  }
}

/** Every API client this KubeConfig makes sends through TracedHttpLibrary (watches are not clients). */
export function traceKubernetesRequests(kc: KubeConfig): KubeConfig {
  const httpApi = new TracedHttpLibrary();
  kc.makeApiClient = <T extends ApiType>(apiClientType: ApiConstructor<T>): T => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    return new apiClientType(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: kc },
        httpApi,
      }),
    );
  };
  return kc;
}
