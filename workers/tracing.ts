/** The worker's share of tracing: activity spans, workflow spans exported through a sink, the traced bundle. */
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import { tracedWorkflowBundlePath, workflowBundlePath } from '../runtime/paths';
import type { Tracing } from '../runtime/tracing';

export function workerTracingOptions(
  tracing: Tracing | undefined,
): Pick<WorkerOptions, 'interceptors' | 'sinks'> & { bundlePath: string } {
  if (!tracing) return { bundlePath: workflowBundlePath() };
  return {
    bundlePath: tracedWorkflowBundlePath(),
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
