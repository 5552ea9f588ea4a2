import { defineQuery, defineSignal } from '@temporalio/workflow';
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
