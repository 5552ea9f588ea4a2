import { EventsV1Api, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import { reportingController } from '../../activities/kubernetes/events';

/** The operator's Events about one object (in `namespace`), by reason. */
export async function ourEventsAbout(
  kc: KubeConfig,
  namespace: string,
  kind: string,
  name: string,
): Promise<Map<string, EventsV1Event>> {
  const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
  const ours = list.items.filter(
    (e) =>
      e.reportingController === reportingController &&
      e.regarding?.kind === kind &&
      e.regarding.name === name,
  );
  return new Map(ours.map((e) => [e.reason ?? '', e]));
}
