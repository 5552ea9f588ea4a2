import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { TailscaleRoutePolicy } from '../../../api/v1alpha1';
import { routePolicyWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { startOperator, type TestOperator } from '../../support/operator';
import { recordHistory } from '../../support/record-history';
import { createTestNamespace, temporalClient, testKubeConfig, uniqueName } from '../../support/stack';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';
const gatewayApi = 'gateway.networking.k8s.io';
const ours = 'gateway.tailscale.com/tailscale-gateway-operator';

type Ancestor = NonNullable<NonNullable<TailscaleRoutePolicy['status']>['ancestors']>[number];

describe('TailscaleRoutePolicy: Accepted / Conflicted per target, as Gateway API policy attachment prescribes', () => {
  let kc: KubeConfig;
  let objects: CustomObjectsApi;
  let operator: TestOperator;
  let temporalConn: { client: Client; close(): Promise<void> };
  let namespace: string;
  const gateway = 'eg';
  const route = 'web';

  beforeAll(async () => {
    kc = testKubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    namespace = await createTestNamespace(kc, 'policy');
    operator = startOperator({ instance: uniqueName('policy'), watchNamespaces: [namespace] });
    temporalConn = await temporalClient();
    await objects.createNamespacedCustomObject({
      group: gatewayApi,
      version: 'v1',
      namespace,
      plural: 'gateways',
      body: {
        apiVersion: `${gatewayApi}/v1`,
        kind: 'Gateway',
        metadata: { name: gateway },
        spec: { gatewayClassName: 'eg', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
      },
    });
    await createRoute(route);
  });

  afterAll(async () => {
    await operator?.stop();
    await temporalConn?.close();
  });

  const createRoute = (name: string) =>
    objects.createNamespacedCustomObject({
      group: gatewayApi,
      version: 'v1',
      namespace,
      plural: 'httproutes',
      body: {
        apiVersion: `${gatewayApi}/v1`,
        kind: 'HTTPRoute',
        metadata: { name },
        spec: { parentRefs: [{ name: gateway }], rules: [{}] },
      },
    });

  const target = (kind: 'Gateway' | 'HTTPRoute' | 'GRPCRoute', name: string) => ({
    group: gatewayApi,
    kind,
    name,
  });

  const createPolicy = (name: string, spec: Record<string, unknown>) =>
    objects.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleroutepolicies',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleRoutePolicy',
        metadata: { name, labels: operator.labels },
        spec,
      },
    });

  const getPolicy = async (name: string) =>
    (await objects.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleroutepolicies',
      name,
    })) as TailscaleRoutePolicy;

  const deletePolicy = (name: string) =>
    objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleroutepolicies',
      name,
    });

  /** Our verdict on one target: the reason of our Accepted condition there. */
  const verdict = (policy: TailscaleRoutePolicy, kind: string, name: string) => {
    const ancestor = policy.status?.ancestors?.find(
      (a) => a.controllerName === ours && a.ancestorRef.kind === kind && a.ancestorRef.name === name,
    );
    return ancestor?.conditions?.find((c) => c.type === 'Accepted');
  };

  const verdictBecomes = (policy: string, kind: string, name: string, reason: string) =>
    eventually(
      `${policy}: ${kind} ${name} ${reason}`,
      async () => {
        const p = await getPolicy(policy);
        return verdict(p, kind, name)?.reason === reason ? p : undefined;
      },
      { timeoutMs: 60_000 },
    );

  const denyAdmin = {
    matches: [{ path: { type: 'PathPrefix', value: '/admin' } }],
    action: { type: 'Deny' },
  };

  it('accepts the targets that exist, names the one that does not, and accepts it once it is created', async () => {
    const policy = uniqueName('deny-admin');
    const later = uniqueName('later');
    await createPolicy(policy, {
      targetRefs: [target('Gateway', gateway), target('HTTPRoute', route), target('HTTPRoute', later)],
      rules: [denyAdmin],
    });
    const judged = await verdictBecomes(policy, 'HTTPRoute', later, 'TargetNotFound');
    expect(verdict(judged, 'Gateway', gateway)).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(verdict(judged, 'HTTPRoute', route)).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(verdict(judged, 'HTTPRoute', later)).toMatchObject({
      status: 'False',
      reason: 'TargetNotFound',
      message: `spec.targetRefs[2]: HTTPRoute ${namespace}/${later} does not exist`,
      observedGeneration: 1,
    });
    expect(judged.status?.ancestors?.map((a) => a.ancestorRef)).toEqual([
      { group: gatewayApi, kind: 'Gateway', name: gateway, namespace },
      { group: gatewayApi, kind: 'HTTPRoute', name: route, namespace },
      { group: gatewayApi, kind: 'HTTPRoute', name: later, namespace },
    ]);

    // The route watchers re-trigger the policy when its missing target appears.
    await createRoute(later);
    await verdictBecomes(policy, 'HTTPRoute', later, 'Accepted');
    await deletePolicy(policy);
  });

  it('refuses a policy whose regex RE2 rejects (Accepted=False, InvalidRegex, naming the field and the RE2 error), and accepts it once fixed', async () => {
    const policy = uniqueName('look-behind');
    const spec = (value: string) => ({
      targetRefs: [target('HTTPRoute', route)],
      rules: [{ matches: [{ path: { type: 'RegularExpression', value } }], action: { type: 'Deny' } }],
    });
    await createPolicy(policy, spec('(?<=x)/admin'));
    const judged = await verdictBecomes(policy, 'HTTPRoute', route, 'InvalidRegex');
    expect(verdict(judged, 'HTTPRoute', route)).toMatchObject({
      status: 'False',
      message:
        'not applied: spec.rules[0].matches[0].path.value: "(?<=x)/admin" is not a valid RE2 regular expression: invalid perl operator: (?<',
    });
    await objects.patchNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleroutepolicies',
      name: policy,
      body: [{ op: 'replace', path: '/spec', value: spec('/admin/.*') }],
    });
    await verdictBecomes(policy, 'HTTPRoute', route, 'Accepted');
    await deletePolicy(policy);
  });

  it('makes the newer of two overlapping policies Conflicted on the shared target, keeps disjoint ones, and accepts it when the older goes', async () => {
    const routeName = uniqueName('shared');
    await createRoute(routeName);
    // Named so that alphabetical order would pick the other one: creationTimestamp must decide.
    const older = uniqueName('z-older');
    await createPolicy(older, { targetRefs: [target('HTTPRoute', routeName)], rules: [denyAdmin] });
    await verdictBecomes(older, 'HTTPRoute', routeName, 'Accepted');
    // creationTimestamp has one-second resolution and decides which policy is older: wait until the API
    // server stamps a later second, as a dry-run create (stored nowhere) shows.
    const olderSecond = Date.parse((await getPolicy(older)).metadata?.creationTimestamp ?? '');
    await eventually('the API server past the older policy second', async () => {
      const probe = (await objects.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'tailscaleroutepolicies',
        dryRun: 'All',
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'TailscaleRoutePolicy',
          metadata: { name: uniqueName('clock') },
          spec: { targetRefs: [target('HTTPRoute', routeName)], rules: [denyAdmin] },
        },
      })) as TailscaleRoutePolicy;
      return Date.parse(probe.metadata?.creationTimestamp ?? '') > olderSecond ? true : undefined;
    });

    const newer = uniqueName('a-newer');
    await createPolicy(newer, {
      targetRefs: [target('HTTPRoute', routeName), target('Gateway', gateway)],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/admin/panel' } }],
          action: { type: 'Redirect', redirect: { path: '/login' } },
        },
      ],
    });
    const disjoint = uniqueName('m-disjoint');
    await createPolicy(disjoint, {
      targetRefs: [target('HTTPRoute', routeName)],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/administrator' } }], action: { type: 'Deny' } },
        {
          matches: [{ method: 'GET', path: { type: 'Exact', value: '/admin' } }],
          requestHeaderModifier: { set: [{ name: 'x-audit', value: '1' }] },
        },
      ],
    });

    const conflicted = await verdictBecomes(newer, 'HTTPRoute', routeName, 'Conflicted');
    expect(verdict(conflicted, 'HTTPRoute', routeName)?.status).toBe('False');
    expect(verdict(conflicted, 'HTTPRoute', routeName)?.message).toContain(
      `the older TailscaleRoutePolicy ${older} takes precedence (its rules[0] and this policy’s rules[0] both decide the action (Deny and Redirect))`,
    );
    const ancestor = conflicted.status?.ancestors?.find((a) => a.ancestorRef.kind === 'HTTPRoute');
    expect(ancestor?.conditions?.find((c) => c.type === 'Conflicted')).toMatchObject({
      status: 'True',
      reason: 'Conflicted',
    });
    // No rival on the Gateway: accepted there.
    expect(verdict(conflicted, 'Gateway', gateway)).toMatchObject({ status: 'True', reason: 'Accepted' });
    await verdictBecomes(disjoint, 'HTTPRoute', routeName, 'Accepted');
    expect(verdict(await getPolicy(older), 'HTTPRoute', routeName)?.reason).toBe('Accepted');

    // The older one goes: the newer one is re-evaluated (a rival changed) and now applies.
    await deletePolicy(older);
    const accepted = await verdictBecomes(newer, 'HTTPRoute', routeName, 'Accepted');
    expect(
      accepted.status?.ancestors
        ?.find((a) => a.ancestorRef.kind === 'HTTPRoute')
        ?.conditions?.find((c) => c.type === 'Conflicted'),
    ).toMatchObject({ status: 'False', reason: 'NoConflict' });

    await deletePolicy(newer);
    const handle = temporalConn.client.workflow.getHandle(routePolicyWorkflowId(namespace, newer));
    await eventually('policy workflow completed', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    await recordHistory('tailscale-route-policy', 'conflicted-then-accepted', handle);
  });

  it("keeps other controllers' ancestors when it rewrites its own", async () => {
    const policy = uniqueName('shared-status');
    await createPolicy(policy, { targetRefs: [target('Gateway', gateway)], rules: [denyAdmin] });
    const first = await verdictBecomes(policy, 'Gateway', gateway, 'Accepted');
    const theirs: Ancestor = {
      ancestorRef: { group: gatewayApi, kind: 'Gateway', name: gateway, namespace },
      controllerName: 'gateway.envoyproxy.io/gatewayclass-controller',
      conditions: [
        {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          message: 'Policy has been accepted.',
          lastTransitionTime: '2026-01-01T00:00:00Z',
          observedGeneration: 1,
        },
      ],
    };
    await objects.replaceNamespacedCustomObjectStatus({
      group,
      version,
      namespace,
      plural: 'tailscaleroutepolicies',
      name: policy,
      body: { ...first, status: { ancestors: [theirs, ...(first.status?.ancestors ?? [])] } },
    });
    // A spec change (generation 2) makes the workflow publish again: ours moves, theirs stays.
    await objects.patchNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleroutepolicies',
      name: policy,
      body: [
        {
          op: 'replace',
          path: '/spec/targetRefs',
          value: [target('Gateway', gateway), target('HTTPRoute', route)],
        },
      ],
    });
    await verdictBecomes(policy, 'HTTPRoute', route, 'Accepted');
    // The pass of generation 2 may be published after the route's verdict was first seen.
    const second = await eventually(
      `${policy}: Gateway verdict at generation 2`,
      async () => {
        const p = await getPolicy(policy);
        return verdict(p, 'Gateway', gateway)?.observedGeneration === 2 ? p : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(second.status?.ancestors?.[0]).toEqual(theirs);
    expect(second.status?.ancestors?.filter((a) => a.controllerName === ours)).toHaveLength(2);
    const gatewayVerdict = verdict(second, 'Gateway', gateway);
    expect(gatewayVerdict?.observedGeneration).toBe(2);
    expect(gatewayVerdict?.lastTransitionTime).toBe(verdict(first, 'Gateway', gateway)?.lastTransitionTime);
  });
});
