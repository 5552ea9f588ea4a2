import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered on the Temporal server by the project (tools/stack, Helm chart); see docs/architecture.md §3. */
export const resourceKindKey = defineSearchAttributeKey('ResourceKind', SearchAttributeType.KEYWORD);
export const k8sNamespaceKey = defineSearchAttributeKey('K8sNamespace', SearchAttributeType.KEYWORD);
export const tailscaleTailnetKey = defineSearchAttributeKey('TailscaleTailnet', SearchAttributeType.KEYWORD);
export const vipServiceNameKey = defineSearchAttributeKey('VipServiceName', SearchAttributeType.KEYWORD);

export const searchAttributeKeys = [resourceKindKey, k8sNamespaceKey, tailscaleTailnetKey, vipServiceNameKey];
