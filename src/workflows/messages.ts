// Every update, signal and query, defined once; the workflows, the CLI and the tests import these.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { STEP_RETRYING_SIGNAL, type StepRetrying } from '../domain/activities';
import type { CallbackBatch } from '../domain/callbacks';
import type { CallbacksStatus } from './outbox';
import type { SignedRequest } from '../domain/permissions';
import type {
  CckRequest,
  DeployRequest,
  DeploymentStatus,
  EventLogView,
  InstanceActionRequest,
  InstancesRequest,
  OperationProgress,
  OperationResult,
  OperationTicket,
  PlanView,
  StopRequest,
} from './types';

// Deployment entity: each update starts one operation and returns its ticket at once. The second
// argument is the CLI's signature block (src/domain/permissions.ts), checked by the validator when
// the worker has a trust root; absent in histories recorded before permissions existed.
export const deployUpdate = defineUpdate<OperationTicket, [DeployRequest, SignedRequest?]>('deploy');
export const stopUpdate = defineUpdate<OperationTicket, [StopRequest, SignedRequest?]>('stop');
export const startUpdate = defineUpdate<OperationTicket, [InstancesRequest, SignedRequest?]>('start');
export const recreateUpdate = defineUpdate<OperationTicket, [InstancesRequest, SignedRequest?]>('recreate');
export const deleteUpdate = defineUpdate<OperationTicket, [Record<string, never>, SignedRequest?]>('delete');
export const instanceActionUpdate = defineUpdate<OperationTicket, [InstanceActionRequest, SignedRequest?]>(
  'instanceAction',
);
/** Cloud check: reports problems (a dry run) or applies one resolution to those it fits. */
export const cckUpdate = defineUpdate<OperationTicket, [CckRequest, SignedRequest?]>('cck');
/** Failure type of an update refused because the deployment was deleted (its entity is closing). */
export const DEPLOYMENT_DELETED = 'DeploymentDeleted';
/** Failure type of an update refused by the permission check; the CLI exits with EXIT.denied. */
export const PERMISSION_DENIED = 'PermissionDenied';

/** Finish in-flight steps, start none, end consistent. An update, so its validator can refuse it. */
export const cancelUpdate = defineUpdate<null, [Record<string, never>, SignedRequest?]>('requestCancel');
/** Cancel, then delete every VM two-stage; instances keep uuids and disks and become detached. */
export const hardStopUpdate = defineUpdate<null, [Record<string, never>, SignedRequest?]>('requestHardStop');
/**
 * The signals cancel and hardStop did before they became updates. A signal cannot be refused, so an
 * entity ignores them now; they stay for histories recorded before (see deployment.ts).
 */
export const cancelSignal = defineSignal('cancel');
export const hardStopSignal = defineSignal('hardStop');

export const statusQuery = defineQuery<DeploymentStatus>('status');
/** The last dry run's plan (an applied operation's result has none; ask its `operationPlan`). */
export const planQuery = defineQuery<PlanView | null>('plan');
/** The event log: operations and state changes, newest last, bounded (`converge events`). */
export const eventsQuery = defineQuery<EventLogView>('events');

// Operation child: the entity forwards cancellation; the CLI reads progress.
export const cancelOperationSignal = defineSignal('cancelOperation');
export const progressQuery = defineQuery<OperationProgress>('progress');
/**
 * The operation's last act: its result, to the entity. A signal handler runs as its job is processed,
 * so a validator later in the same activation already sees the entity idle with the new records;
 * the child's completion only resolves a promise, which runs after every job of the activation.
 */
export const operationFinishedSignal = defineSignal<[OperationResult]>('operationFinished');
export const operationPlanQuery = defineQuery<PlanView | null>('operationPlan');
/** From an activity that keeps failing retryably (src/activities/retry-report.ts): why a step waits. */
export const stepRetryingSignal = defineSignal<[StepRetrying]>(STEP_RETRYING_SIGNAL);

// Callback outbox `callbacks/<deployment>` (callbacks.ts): events in (notify-listeners.ts), status out.
export const callbackEventsSignal = defineSignal<[CallbackBatch]>('callbackEvents');
export const callbacksStatusQuery = defineQuery<CallbacksStatus>('callbacksStatus');

export { SEARCH_ATTRIBUTE_NAMES as SEARCH_ATTRIBUTES } from '../domain/search-attributes';
