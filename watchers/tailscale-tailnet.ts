import { resourceOf } from '../api/crd';
import { tailscaleTailnetCrd, type TailscaleTailnet } from '../api/v1alpha1/tailscale-tailnet';
import { tailnetWorkflowId } from '../workflows/ids';
import { tailscaleTailnetKey } from '../workflows/search-attributes';
import type { WatchedKind } from './watched-kind';

export const tailscaleTailnetWatch: WatchedKind<TailscaleTailnet> = {
  resource: resourceOf(tailscaleTailnetCrd),
  workflowType: 'tailscaleTailnetWorkflow',
  workflowId: (tailnet) => tailnetWorkflowId(tailnet.metadata.name),
  extraSearchAttributes: (tailnet) => [{ key: tailscaleTailnetKey, value: tailnet.metadata.name }],
  dependsOn: ['secrets'],
  // A rotated OAuth Secret re-runs the credential check.
  related: (tailnet, lookups) => {
    const { namespace, name } = tailnet.spec.oauthSecretRef;
    return { [`secret/${namespace}/${name}`]: lookups.secretVersion(namespace, name) ?? 'absent' };
  },
};
