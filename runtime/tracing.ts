/**
 * OpenTelemetry traces, exported over OTLP/HTTP when the standard OTEL_* variables ask for them.
 * Off (no provider, no interceptors, no bundle change) when no endpoint is set.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  tracer: Tracer;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/** Whether the environment asks for traces: an OTLP endpoint is set and the SDK is not disabled. */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Registers the global tracer provider (W3C trace context, async-hooks context) for this process.
 * The exporter reads its endpoint, headers and timeout from the OTEL_EXPORTER_OTLP_* variables itself.
 */
export function startTracing(component: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (!tracingEnabled(env)) return undefined;
  const resource = new Resource({
    'service.name': env.OTEL_SERVICE_NAME || `tailscale-gateway-${component}`,
    'service.component': component,
  });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return {
    resource,
    spanProcessor,
    tracer: trace.getTracer('tailscale-gateway-operator'),
    shutdown: () => provider.shutdown(),
  };
}

/** Client interceptors that carry the caller's trace context into workflow starts and signals. */
export function clientInterceptors(tracing: Tracing | undefined): { workflow: WorkflowClientInterceptor[] } {
  return {
    workflow: tracing ? [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] : [],
  };
}
