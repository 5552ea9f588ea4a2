import type { V1ServicePort } from '@kubernetes/client-node';
import { serveConfigKey } from '../../../activities/specs/proxy-group';
import { servicesWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { ourEventsAbout } from '../../support/events';
import { proxiesOf } from '../../support/proxies';
import { advertisedServices, createProxyEndpoints, waitUntilGone } from '../../support/objects';
import { recordHistory } from '../../support/record-history';
import { useStackOperator } from '../../support/stack-operator';
import { uniqueName } from '../../support/stack';
import { checkTailscaleConfig } from '../../support/tailscale-config-check';
import { conditionOf } from '../../support/conditions';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

describe('TailscaleServices spec.backend: the serve config the proxies read', () => {
  const stack = useStackOperator({ name: 'svc-backend' });

  const createServices = (name: string, spec: Record<string, unknown>) =>
    stack.tailscaleServices.create(name, { tailnet: stack.tailnet.name, ...spec });
  const condition = async (name: string, type = 'Ready') =>
    conditionOf(await stack.tailscaleServices.get(name), type);
  const readyWith = async (name: string, status: string, reason?: string) => {
    const ready = await condition(name);
    return ready?.status === status && (!reason || ready.reason === reason) ? ready : undefined;
  };
  /** A ClusterIP Service as the user has it; the API server allocates its cluster IP. */
  const createBackend = async (name: string, ports: V1ServicePort[]) => {
    const created = await stack.core.createNamespacedService({
      namespace: stack.namespace,
      body: { metadata: { name }, spec: { ports } },
    });
    return created.spec!.clusterIP!;
  };
  const setBackendPorts = async (name: string, ports: V1ServicePort[]) => {
    const live = await stack.core.readNamespacedService({ namespace: stack.namespace, name });
    live.spec!.ports = ports;
    await stack.core.replaceNamespacedService({ namespace: stack.namespace, name, body: live });
  };
  /** The text of `serve-config.json` in the proxy set's ConfigMap, undefined when there is none. */
  const serveConfigText = async (endpoints: string) => {
    try {
      const placed = proxiesOf(stack.namespace, endpoints);
      const cm = await stack.core.readNamespacedConfigMap({
        namespace: placed.namespace,
        name: `${placed.name}-proxies`,
      });
      return cm.data?.[serveConfigKey];
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };
  const servedServices = async (endpoints: string) => {
    const text = await serveConfigText(endpoints);
    return text ? (JSON.parse(text) as { Services: Record<string, unknown> }).Services : {};
  };

  it('writes each service’s entry (TCP forward, HTTPS handler) into the shared ConfigMap, passing tailscale.com’s checker, and removes it with the service', async () => {
    const name = uniqueName('web');
    const endpoints = `${name}-proxies`;
    await createProxyEndpoints(stack.kc, {
      namespace: stack.namespace,
      name: endpoints,
      labels: { app: name },
      tailnet: stack.tailnet.name,
    });
    const clusterIP = await createBackend(`${name}-backend`, [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'pg', port: 5432 },
    ]);
    await createServices(name, {
      selector: { matchLabels: { app: name } },
      vipService: { ports: ['tcp:443', 'tcp:5432'], tags: ['tag:web'] },
      backend: {
        serviceName: `${name}-backend`,
        ports: [
          { port: 443, servicePort: 'http', mode: 'https' },
          { port: 5432, servicePort: 5432 },
        ],
      },
    });
    // A second service on the same proxies: each edits its own entry of the one file.
    const db = `${name}-db`;
    await createServices(db, {
      selector: { matchLabels: { app: name } },
      vipService: { ports: ['tcp:5432'], tags: ['tag:web'] },
      backend: { serviceName: `${name}-backend`, ports: [{ port: 5432, servicePort: 'pg' }] },
    });
    await eventually('both Ready', async () =>
      (await readyWith(name, 'True')) && (await readyWith(db, 'True')) ? true : undefined,
    );

    const web = {
      TCP: { '443': { HTTPS: true }, '5432': { TCPForward: `${clusterIP}:5432` } },
      Web: {
        [`${name}.${stack.tailnet.dnsSuffix}:443`]: {
          Handlers: { '/': { Proxy: `http://${clusterIP}:80/` } },
        },
      },
    };
    const tcpOnly = { TCP: { '5432': { TCPForward: `${clusterIP}:5432` } } };
    expect(await servedServices(endpoints)).toEqual({ [`svc:${name}`]: web, [`svc:${db}`]: tcpOnly });
    expect(await checkTailscaleConfig('serve', await serveConfigText(endpoints))).toEqual({
      ok: true,
      error: '',
    });
    expect(await advertisedServices(stack.kc, { namespace: stack.namespace, name: endpoints }, 0)).toEqual([
      `svc:${name}`,
      `svc:${db}`,
    ]);
    expect(await condition(name, 'BackendReady')).toMatchObject({ status: 'True', reason: 'BackendFound' });

    await stack.tailscaleServices.delete(name);
    await waitUntilGone('TailscaleServices', () => stack.tailscaleServices.get(name));
    expect(await advertisedServices(stack.kc, { namespace: stack.namespace, name: endpoints }, 0)).toEqual([
      `svc:${db}`,
    ]);
    expect(await servedServices(endpoints)).toEqual({ [`svc:${db}`]: tcpOnly });
    expect(await checkTailscaleConfig('serve', await serveConfigText(endpoints))).toEqual({
      ok: true,
      error: '',
    });

    await stack.tailscaleServices.delete(db);
    await waitUntilGone('TailscaleServices', () => stack.tailscaleServices.get(db));
    // The last entry gone, the key goes: containerboot skips a missing file.
    expect(await serveConfigText(endpoints)).toBeUndefined();
    expect(await advertisedServices(stack.kc, { namespace: stack.namespace, name: endpoints }, 0)).toEqual(
      [],
    );
  });

  it('keeps a service whose backend Service or port is missing off the proxies (BackendNotFound, BackendPortNotFound), serves it once the Service is there, and serves nothing once spec.backend is removed', async () => {
    const name = uniqueName('late');
    const endpoints = `${name}-proxies`;
    await createProxyEndpoints(stack.kc, {
      namespace: stack.namespace,
      name: endpoints,
      labels: { app: name },
      tailnet: stack.tailnet.name,
    });
    await createServices(name, {
      selector: { matchLabels: { app: name } },
      vipService: { ports: ['tcp:5432'], tags: ['tag:web'] },
      backend: { serviceName: `${name}-db`, ports: [{ port: 5432, servicePort: 'pg' }] },
    });
    const missing = await eventually('BackendNotFound', () => readyWith(name, 'False', 'BackendNotFound'));
    expect(missing.message).toContain(
      `spec.backend.serviceName: Service ${stack.namespace}/${name}-db does not exist`,
    );
    // What `kubectl events` shows the user: a Warning saying what to fix.
    const warning = await eventually('a BackendNotFound Warning Event', async () =>
      (await ourEventsAbout(stack.kc, stack.namespace, 'TailscaleServices', name)).get('BackendNotFound'),
    );
    expect(warning.type).toBe('Warning');
    expect(warning.note).toContain(`Service ${stack.namespace}/${name}-db does not exist`);
    expect(await advertisedServices(stack.kc, { namespace: stack.namespace, name: endpoints }, 0)).toEqual(
      [],
    );
    expect(await servedServices(endpoints)).toEqual({});

    // Creating the Service re-runs the object (the watchers follow backend Services).
    const clusterIP = await createBackend(`${name}-db`, [{ name: 'pg', port: 5432 }]);
    await eventually('Ready once the Service exists', () => readyWith(name, 'True'));
    expect(await servedServices(endpoints)).toEqual({
      [`svc:${name}`]: { TCP: { '5432': { TCPForward: `${clusterIP}:5432` } } },
    });
    expect(await advertisedServices(stack.kc, { namespace: stack.namespace, name: endpoints }, 0)).toEqual([
      `svc:${name}`,
    ]);

    // The port renamed away: withdrawn, then its entry removed.
    await setBackendPorts(`${name}-db`, [{ name: 'postgres', port: 5432 }]);
    const noPort = await eventually('BackendPortNotFound', () =>
      readyWith(name, 'False', 'BackendPortNotFound'),
    );
    expect(noPort.message).toContain(`has no port "pg" (it has postgres=5432)`);
    expect(await advertisedServices(stack.kc, { namespace: stack.namespace, name: endpoints }, 0)).toEqual(
      [],
    );
    expect(await servedServices(endpoints)).toEqual({});

    // The port back: served again. Then spec.backend removed: still advertised, serving nothing.
    await setBackendPorts(`${name}-db`, [{ name: 'pg', port: 5432 }]);
    await eventually('served again', async () =>
      Object.keys(await servedServices(endpoints)).length ? true : undefined,
    );
    await stack.objects.patchNamespacedCustomObject({
      group,
      version,
      namespace: stack.namespace,
      plural: 'tailscaleservices',
      name,
      body: [{ op: 'remove', path: '/spec/backend' }],
    });
    await eventually('entry removed without a backend', async () => {
      const backend = await condition(name, 'BackendReady');
      return backend?.reason === 'NoBackend' && (await readyWith(name, 'True')) ? true : undefined;
    });
    expect(await servedServices(endpoints)).toEqual({});
    expect(await advertisedServices(stack.kc, { namespace: stack.namespace, name: endpoints }, 0)).toEqual([
      `svc:${name}`,
    ]);

    await stack.tailscaleServices.delete(name);
    await waitUntilGone('TailscaleServices', () => stack.tailscaleServices.get(name));
    const handle = stack.temporal.workflow.getHandle(servicesWorkflowId(stack.namespace, name));
    await eventually('services workflow completed', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    await recordHistory('tailscale-services', 'backend-not-found-then-served', handle);
  });
});
