// The deployment entity `deployment/<name>`: one per deployment, long-lived. It is the deployment's
// lock: each update starts one operation (a child workflow) and returns its ticket at once; a second
// operation while one runs is rejected by the validator (not queued), so operations never interleave.
import {
  ChildWorkflowFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { DeploymentEntity } from './deployment-entity';
import { incarnationOf } from './incarnation';
import {
  cancelOperationSignal,
  cancelSignal,
  deleteUpdate,
  deployUpdate,
  hardStopSignal,
  instanceActionUpdate,
  operationFinishedSignal,
  planQuery,
  recreateUpdate,
  startUpdate,
  statusQuery,
  stopUpdate,
} from './messages';
import { operation, SEARCH_ATTRIBUTE_KEYS } from './operation';
import { operationSummary } from './views';
import type {
  DeployRequest,
  DeploymentInput,
  DeploymentState,
  InstanceActionRequest,
  InstancesRequest,
  OperationResult,
  StopRequest,
} from './types';

export async function deployment(input: DeploymentInput): Promise<DeploymentState> {
  // Only a fresh state gets an incarnation: a carried state keeps its own.
  const incarnation =
    input.state === undefined ? incarnationOf(workflowInfo().firstExecutionRunId) : undefined;
  const entity = new DeploymentEntity(input, incarnation);
  let child: ChildWorkflowHandle<typeof operation> | null = null;

  setHandler(deployUpdate, (req) => entity.acceptDeploy(req), {
    validator: (req: DeployRequest) => entity.validateDeploy(req),
  });
  setHandler(stopUpdate, (req) => entity.accept('stop', { stop: req }), {
    validator: (req: StopRequest) => entity.validateStop(req),
  });
  setHandler(startUpdate, (req) => entity.accept('start', { start: req }), {
    validator: (req: InstancesRequest) => entity.validateInstances('start', req),
  });
  setHandler(recreateUpdate, (req) => entity.accept('recreate', { recreate: req.instances ?? true }), {
    validator: (req: InstancesRequest) => entity.validateInstances('recreate', req),
  });
  setHandler(deleteUpdate, (_req) => entity.accept('delete'), {
    validator: (req) => entity.validateDelete(req),
  });
  setHandler(instanceActionUpdate, (req) => entity.accept('instance-action', { action: req }), {
    validator: (req: InstanceActionRequest) => entity.validateInstanceAction(req),
  });
  setHandler(cancelSignal, () => {
    if (child) void child.signal(cancelOperationSignal).catch(() => undefined);
  });
  setHandler(hardStopSignal, () => {
    entity.hardStopRequested = true;
    if (child) void child.signal(cancelOperationSignal).catch(() => undefined);
  });
  setHandler(operationFinishedSignal, (result) => {
    if (entity.current?.operation === result.operation) entity.finish(entity.current, result, null);
  });
  setHandler(statusQuery, () => entity.status(entity.busy ? 'enacting' : 'idle'));
  setHandler(planQuery, () => entity.state.lastPlan);
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.deployment, value: entity.name }]);

  for (;;) {
    await condition(
      () =>
        entity.pending !== null ||
        entity.hardStopRequested ||
        (workflowInfo().continueAsNewSuggested && !entity.busy),
    );
    // Between operations, continue as new when the server suggests it, carrying an accepted operation
    // that has not started yet: a busy entity is never idle, so waiting for idleness could wait forever.
    if (workflowInfo().continueAsNewSuggested && entity.current === null) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof deployment>({
        name: entity.name,
        state: entity.state,
        pending: entity.pending,
        hardStopRequested: entity.hardStopRequested,
      });
    }
    if (entity.hardStopRequested && !entity.pending) {
      entity.hardStopRequested = false;
      if (entity.state.manifest !== null && !entity.state.deleted)
        entity.accept('stop', { stop: { hard: true } });
    }
    const next = entity.takePending();
    if (next) {
      let result: OperationResult | null = null;
      let error: string | null = null;
      try {
        child = await startChild(operation, {
          workflowId: next.ticket.workflowId,
          args: [next.input],
          staticSummary: operationSummary(next.ticket.kind, entity.name, null),
          staticDetails: `operation ${next.ticket.operation} of deployment ${entity.name}`,
        });
        result = await child.result();
      } catch (err) {
        error = err instanceof ChildWorkflowFailure && err.cause ? err.cause.message : String(err);
      } finally {
        child = null;
      }
      // Usually already recorded by the operationFinished signal; the result is the fallback.
      if (entity.current?.operation === next.ticket.operation) entity.finish(next.ticket, result, error);
      if (entity.state.deleted) break;
      continue;
    }
  }
  await condition(allHandlersFinished);
  return entity.state;
}
