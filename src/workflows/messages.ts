// Every update, signal and query, defined once; the workflows, the CLI and the tests import these.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  DeployRequest,
  DeploymentStatus,
  InstanceActionRequest,
  InstancesRequest,
  OperationProgress,
  OperationTicket,
  PlanView,
  StopRequest,
} from './types';

// Deployment entity: each update starts one operation and returns its ticket at once.
export const deployUpdate = defineUpdate<OperationTicket, [DeployRequest]>('deploy');
export const stopUpdate = defineUpdate<OperationTicket, [StopRequest]>('stop');
export const startUpdate = defineUpdate<OperationTicket, [InstancesRequest]>('start');
export const recreateUpdate = defineUpdate<OperationTicket, [InstancesRequest]>('recreate');
export const deleteUpdate = defineUpdate<OperationTicket, [Record<string, never>]>('delete');
export const instanceActionUpdate = defineUpdate<OperationTicket, [InstanceActionRequest]>('instanceAction');

/** Finish in-flight steps, start none, end consistent. */
export const cancelSignal = defineSignal('cancel');
/** Cancel, then delete every VM two-stage; instances keep uuids and disks and become detached. */
export const hardStopSignal = defineSignal('hardStop');

export const statusQuery = defineQuery<DeploymentStatus>('status');
export const planQuery = defineQuery<PlanView | null>('plan');

// Operation child: the entity forwards cancellation; the CLI reads progress.
export const cancelOperationSignal = defineSignal('cancelOperation');
export const progressQuery = defineQuery<OperationProgress>('progress');
export const operationPlanQuery = defineQuery<PlanView | null>('operationPlan');

export const SEARCH_ATTRIBUTES = {
  deployment: 'ConvergeDeployment',
  operation: 'ConvergeOperation',
  phase: 'ConvergePhase',
} as const;
