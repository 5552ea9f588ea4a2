/** The operator's own spans, on the OpenTelemetry API alone: no-ops until startTracing registers a provider. */
import { SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';

/** The operator's tracer: a no-op unless startTracing registered a provider. */
export const operatorTracer = (): Tracer => trace.getTracer('tailscale-gateway-operator');

/** Runs `fn` inside an active span that records its failure; costs nothing without a provider. */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: () => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return operatorTracer().startActiveSpan(name, { attributes, kind }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      throw err;
    } finally {
      span.end();
    }
  });
}
