import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { VipServiceHostView } from '../activities/vip/hosts';
import type { ObjectDeleted, ObjectSnapshot } from './types';

/** Watchers send the newest snapshot of the object a workflow owns. */
export const objectChangedSignal = defineSignal<[ObjectSnapshot<unknown>]>('objectChanged');
/** The object is gone from the API server (deleted without a finalizer of ours, or after it). */
export const objectDeletedSignal = defineSignal<[ObjectDeleted]>('objectDeleted');

export interface ResourceWorkflowStatus {
  phase: 'Waiting' | 'Reconciling' | 'CleaningUp' | 'Done';
  observedGeneration?: number;
  reconciles: number;
  lastError?: string;
}
export const resourceStatusQuery = defineQuery<ResourceWorkflowStatus>('status');

/** The claiming object's identity and grant, as the VIP workflow orders and admits consumers. */
export interface VipClaim {
  /** metadata.creationTimestamp: the earliest claimer owns the VIP service's spec. */
  createdAt?: string;
  /** metadata.uid: breaks ties between objects created in the same second. */
  uid?: string;
  /** spec.vipService.allowedNamespaces: other namespaces the owner lets join (`*`: every namespace). */
  allowedNamespaces?: string[];
}

/** A local consumer (a TailscaleServices or TailscaleGateway workflow) joining, updating or leaving a VIP service. */
export interface VipConsumerChange {
  consumerWorkflowId: string;
  /** The local object, e.g. services/<ns>/<name>; recorded in the registry's routes. */
  route: string;
  /** Increases with every change a consumer sends; the VIP workflow acknowledges the newest it applied. */
  requestId: number;
  /**
   * The consumer workflow's firstExecutionRunId: request ids restart when an object is deleted and
   * recreated under the same name (a new execution of the same workflow id), so replies are matched on it.
   */
  consumerRunId?: string;
  remove?: boolean;
  spec?: { ports: string[]; tags: string[]; comment?: string };
  devices?: string[];
  /** What decides whose spec applies and who may join (workflows/vip-claims.ts); absent from older workers. */
  claim?: VipClaim;
}
export const vipConsumerSignal = defineSignal<[VipConsumerChange]>('vipConsumer');

/** What the VIP workflow tells each local consumer after applying its changes. */
export interface VipServiceReport {
  serviceName: string;
  ackRequestId: number;
  /** Echo of the change's consumerRunId: a consumer ignores replies meant for an earlier execution. */
  consumerRunId?: string;
  attached: boolean;
  outcome: string;
  addresses: string[];
  ownerOperator?: string;
  consumers: number;
  message: string;
  /**
   * Set for the consumer whose spec this install applies (its claim owner). With SpecMismatch it means
   * another install owns the service and this owner's spec is not applied; absent from older workers.
   */
  specOwner?: boolean;
  error?: string;
  /** The failure's type when `error` is set, e.g. TailscaleNameClash. */
  errorType?: string;
  /** Who hosts the service and whether Tailscale approved them; absent when not read (not attached). */
  hosts?: VipServiceHostView[];
}
export const vipStatusSignal = defineSignal<[VipServiceReport]>('vipStatus');

/**
 * A proxy began advertising the service (its state Secret shows it in tailscaled's prefs): the VIP
 * workflow reads its hosts now rather than at its next poll. Sent by the proxy parent's workflow.
 */
export const vipHostsChangedSignal = defineSignal('vipHostsChanged');

export interface VipServiceWorkflowState {
  serviceName: string;
  localConsumers: string[];
  last?: VipServiceReport;
}
export const vipStateQuery = defineQuery<VipServiceWorkflowState>('vipState');

/** Stops a sweeper (its tailnet was deleted). */
export const stopSweeperSignal = defineSignal('stopSweeper');
