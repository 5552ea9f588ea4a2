/**
 * Workflow interceptors, bundled with every workflow (tools/bundle-workflows.ts): each activity the
 * workflows schedule, regular or local, carries a summary for the Temporal UI's Timeline unless the
 * call set its own.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { activitySummary } from './ui-summary';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity: (input, next) =>
        next({
          ...input,
          options: {
            ...input.options,
            summary: input.options.summary ?? activitySummary(input.activityType, input.args),
          },
        }),
      scheduleLocalActivity: (input, next) =>
        next({
          ...input,
          options: {
            ...input.options,
            summary: input.options.summary ?? activitySummary(input.activityType, input.args),
          },
        }),
    },
  ],
});
