import type { Client } from '@temporalio/client';
import { finalizerName } from '../../api/common';
import { objectChangedSignal } from '../../workflows/messages';
import type { ObjectSnapshot } from '../../workflows/types';

/** A snapshot of default/`name` at generation 1, our finalizer held, as the watchers would send it. */
export const heldSnapshot = <Spec>(name: string, spec: Spec): ObjectSnapshot<Spec> => ({
  metadata: {
    name,
    namespace: 'default',
    uid: `uid-${name}`,
    generation: 1,
    resourceVersion: '1',
    finalizers: [finalizerName],
  },
  spec,
});

/** Starts (or signals) the workflow of `snapshot` with it, as the watchers would. */
export const signalSnapshot = <Spec>(
  client: Client,
  to: { taskQueue: string; workflowType: string; workflowId: string; kind: string },
  snapshot: ObjectSnapshot<Spec>,
) =>
  client.workflow.signalWithStart(to.workflowType, {
    workflowId: to.workflowId,
    taskQueue: to.taskQueue,
    args: [{ kind: to.kind, namespace: snapshot.metadata.namespace, name: snapshot.metadata.name }],
    signal: objectChangedSignal,
    signalArgs: [snapshot],
  });
