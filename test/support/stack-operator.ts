import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { TailscaleServices } from '../../api/v1alpha1';
import { startProxySimulator, type ProxySimulator } from '../../simulators/proxy/simulator';
import { createTailscaleServices } from './objects';
import { instanceLabels, startOperator, type TestOperator } from './operator';
import { createTestNamespace, temporalClient, testKubeConfig, uniqueName } from './stack';
import { startTestTailnet, type TestTailnet } from './tailscale';

export interface StackOperatorOptions<More extends string = never> {
  /** Prefix of the test namespace and of the operator instance. */
  name: string;
  /** Prefixes of further namespaces the operator watches, created next to the first. */
  moreNamespaces?: More[];
  operatorId?: string;
  clusterId?: string;
  /** Operator environment beyond its identity and the tailnet's API address. */
  env?: Record<string, string>;
  /** Play the replicas of the endpoints the operator provisions in the test namespace. */
  proxies?: boolean;
}

export interface StackOperator<More extends string = never> {
  kc: KubeConfig;
  objects: CustomObjectsApi;
  core: CoreV1Api;
  namespace: string;
  /** The namespace made for each prefix of `moreNamespaces`. */
  moreNamespaces: Record<More, string>;
  tailnet: TestTailnet;
  operator: TestOperator;
  temporal: Client;
  /** Set only with `proxies: true`. */
  proxies: ProxySimulator;
  /** TailscaleServices in `namespace`, created with the operator's labels. */
  tailscaleServices: {
    create: (name: string, spec: Record<string, unknown>) => Promise<unknown>;
    get: (name: string) => Promise<TailscaleServices>;
    delete: (name: string) => Promise<unknown>;
  };
}

/**
 * The common start of a stack test file: a namespace, a tailnet on its own Tailscale simulator, the
 * operator's processes watching that namespace, and a Temporal client; stopped after the file. Call it
 * in a `describe` body; its fields are set once the file's first `beforeAll` has run.
 */
export function useStackOperator<More extends string = never>(
  opts: StackOperatorOptions<More>,
): StackOperator<More> {
  const stack = {} as StackOperator<More>;
  let closeTemporal: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const kc = testKubeConfig();
    const namespace = await createTestNamespace(kc, opts.name);
    const moreNamespaces = {} as Record<More, string>;
    for (const prefix of opts.moreNamespaces ?? []) {
      moreNamespaces[prefix] = await createTestNamespace(kc, prefix);
    }
    const instance = uniqueName(opts.name);
    stack.kc = kc;
    stack.objects = kc.makeApiClient(CustomObjectsApi);
    stack.core = kc.makeApiClient(CoreV1Api);
    stack.namespace = namespace;
    stack.moreNamespaces = moreNamespaces;
    stack.tailscaleServices = tailscaleServicesIn(stack);
    stack.tailnet = await startTestTailnet({
      kc,
      namespace,
      name: uniqueName('corp'),
      labels: instanceLabels(instance),
    });
    stack.operator = startOperator({
      instance,
      watchNamespaces: [namespace, ...Object.values<string>(moreNamespaces)],
      env: {
        OPERATOR_ID: opts.operatorId ?? 'op-a',
        CLUSTER_ID: opts.clusterId ?? 'east',
        TAILSCALE_API_BASE_URL: stack.tailnet.sim.url,
        ...opts.env,
      },
    });
    const connection = await temporalClient();
    stack.temporal = connection.client;
    closeTemporal = () => connection.close();
    if (opts.proxies) {
      stack.proxies = startProxySimulator({
        kc,
        tailscale: stack.tailnet.sim.admin,
        namespaces: [namespace],
      });
    }
  });

  afterAll(async () => {
    await stack.proxies?.stop();
    await stack.operator?.stop();
    await closeTemporal?.();
    await stack.tailnet?.close();
  });

  return stack;
}

function tailscaleServicesIn(stack: StackOperator<string>): StackOperator['tailscaleServices'] {
  const at = (name: string) => ({
    group: 'gateway.tailscale.com',
    version: 'v1alpha1',
    namespace: stack.namespace,
    plural: 'tailscaleservices',
    name,
  });
  return {
    create: (name, spec) =>
      createTailscaleServices(stack.kc, {
        namespace: stack.namespace,
        name,
        labels: stack.operator.labels,
        spec,
      }),
    get: async (name) => (await stack.objects.getNamespacedCustomObject(at(name))) as TailscaleServices,
    delete: (name) => stack.objects.deleteNamespacedCustomObject(at(name)),
  };
}
