// The deployment entity `deployment/<name>`: one per deployment, long-lived. It is the deployment's
// lock: each update starts one operation (a child workflow) and returns its ticket at once; a second
// operation while one runs is rejected by the validator (not queued), so operations never interleave.
import {
  ChildWorkflowFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
  setWorkflowOptions,
} from '@temporalio/workflow';
import { DeploymentEntity } from './deployment-entity';
import { whenVersioned } from './versioning';
import { incarnationOf } from './incarnation';
import {
  cckUpdate,
  cancelOperationSignal,
  cancelSignal,
  cancelUpdate,
  deleteUpdate,
  deployUpdate,
  eventsQuery,
  hardStopSignal,
  hardStopUpdate,
  instanceActionUpdate,
  operationFinishedSignal,
  planQuery,
  recreateUpdate,
  startUpdate,
  statusQuery,
  stopUpdate,
} from './messages';
import { operation, SEARCH_ATTRIBUTE_KEYS } from './operation';
import { entityDetails, operationSummary } from './views';
import { Watch, WATCH_PATCH } from './watch';
import { notifyListeners } from './notify-listeners';
import type {
  CckRequest,
  DeployRequest,
  DeploymentInput,
  DeploymentState,
  InstanceActionRequest,
  InstancesRequest,
  OperationResult,
  StopRequest,
} from './types';
import type { SignedRequest } from '../domain/permissions';

/** Patch: cancel and hardStop arrive as updates (with validators); the old signals do nothing. */
const SIGNALS_IGNORED = 'cancel-and-hard-stop-are-updates';
/**
 * Patch: a deleted entity holding unexpired nonces does not complete at once: it lingers until they
 * expire (a new run would start with none, and accept a captured request again), and a deploy
 * meanwhile begins the next incarnation in this run.
 */
export const LINGER_AFTER_DELETE = 'linger-after-delete';

// The long-lived entity moves to each new current build: its changes still need patched() and
// replay tests. Not given on an unversioned worker.
setWorkflowOptions(whenVersioned('AUTO_UPGRADE'), deployment);

export async function deployment(input: DeploymentInput): Promise<DeploymentState> {
  // Only a fresh state gets an incarnation: a carried state keeps its own.
  const incarnation =
    input.state === undefined ? incarnationOf(workflowInfo().firstExecutionRunId) : undefined;
  const entity = new DeploymentEntity(input, incarnation);
  let child: ChildWorkflowHandle<typeof operation> | null = null;

  // Each handler first records the request's nonce (entity.admit): its validator has accepted it.
  setHandler(
    deployUpdate,
    (req, auth) => {
      entity.admit(auth);
      if (entity.lingering) {
        // As a new run would: a fresh state under a new incarnation id (unique per run and per previous
        // incarnation, so deterministic), but the nonces kept.
        const previous = entity.state.incarnation ?? '';
        entity.reincarnate(incarnationOf(`${workflowInfo().runId}/${previous}`));
        showDetails();
      }
      return entity.acceptDeploy(req);
    },
    { validator: (req: DeployRequest, auth?: SignedRequest) => entity.validateDeploy(req, auth) },
  );
  setHandler(
    stopUpdate,
    (req, auth) => {
      entity.admit(auth);
      const { dryRun, ...stop } = req;
      return entity.accept('stop', { stop, ...planOnly(dryRun) });
    },
    { validator: (req: StopRequest, auth?: SignedRequest) => entity.validateStop(req, auth) },
  );
  setHandler(
    startUpdate,
    (req, auth) => {
      entity.admit(auth);
      const { dryRun, ...start } = req;
      return entity.accept('start', { start, ...planOnly(dryRun) });
    },
    {
      validator: (req: InstancesRequest, auth?: SignedRequest) =>
        entity.validateInstances('start', req, auth),
    },
  );
  setHandler(
    recreateUpdate,
    (req, auth) => {
      entity.admit(auth);
      return entity.accept('recreate', { recreate: req.instances ?? true, ...planOnly(req.dryRun) });
    },
    {
      validator: (req: InstancesRequest, auth?: SignedRequest) =>
        entity.validateInstances('recreate', req, auth),
    },
  );
  setHandler(
    deleteUpdate,
    (_req, auth) => {
      entity.admit(auth);
      return entity.accept('delete');
    },
    { validator: (req, auth?: SignedRequest) => entity.validateDelete(req, auth) },
  );
  setHandler(
    instanceActionUpdate,
    (req, auth) => {
      entity.admit(auth);
      return entity.accept('instance-action', { action: req });
    },
    {
      validator: (req: InstanceActionRequest, auth?: SignedRequest) =>
        entity.validateInstanceAction(req, auth),
    },
  );
  setHandler(
    cckUpdate,
    (req, auth) => {
      entity.admit(auth);
      return entity.acceptCck(req);
    },
    { validator: (req: CckRequest, auth?: SignedRequest) => entity.validateCck(req, auth) },
  );
  const cancelRunning = (): void => {
    if (child) void child.signal(cancelOperationSignal).catch(() => undefined);
  };
  const hardStopNow = (): void => {
    entity.hardStopRequested = true;
    cancelRunning();
  };
  setHandler(
    cancelUpdate,
    (_req, auth) => {
      entity.admit(auth);
      cancelRunning();
      return null;
    },
    { validator: (req, auth?: SignedRequest) => entity.validateInterrupt('cancel', req, auth) },
  );
  setHandler(
    hardStopUpdate,
    (_req, auth) => {
      entity.admit(auth);
      hardStopNow();
      return null;
    },
    { validator: (req, auth?: SignedRequest) => entity.validateInterrupt('hard-stop-now', req, auth) },
  );
  // A signal is written to history before any code sees it, so it cannot be refused: entities now
  // ignore these. Histories recorded before (no patch marker) replay what the signal did then.
  setHandler(cancelSignal, () => {
    if (!patched(SIGNALS_IGNORED)) cancelRunning();
  });
  setHandler(hardStopSignal, () => {
    if (!patched(SIGNALS_IGNORED)) hardStopNow();
  });
  setHandler(operationFinishedSignal, (result) => {
    if (entity.current?.operation === result.operation) entity.finish(entity.current, result, null);
  });
  setHandler(statusQuery, () => entity.status(entity.busy ? 'enacting' : 'idle'));
  setHandler(planQuery, () => entity.state.lastPlan);
  setHandler(eventsQuery, () => entity.log.view());
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.deployment, value: entity.name }]);
  const showDetails = (): void => setCurrentDetails(entityDetails(entity.state, entity.current));
  showDetails();
  // Entities recorded before the watch existed replay without it (test/replay).
  const watch = patched(WATCH_PATCH) ? new Watch(entity) : null;
  const watching = watch?.run() ?? Promise.resolve();
  // Listeners (the callbacks outbox) are told every event the log takes, in order, one hand-over at
  // a time; the cursor is in the entity's state, so nothing is skipped across continue-as-new.
  let deaf = false;
  const telling = watch
    ? (async () => {
        for (;;) {
          await condition(() => entity.log.waiting > 0 || deaf);
          if (entity.log.waiting === 0) return;
          const { events, upTo, epoch } = entity.log.untold();
          await notifyListeners(entity.name, entity.state.manifest?.callbacks, events);
          entity.log.told(upTo, epoch);
        }
      })()
    : Promise.resolve();
  const stopWatching = async (): Promise<void> => {
    watch?.stop();
    await watching;
    deaf = true;
    await telling;
  };

  const continueAsNewNow = async (): Promise<never> => {
    await stopWatching();
    await condition(allHandlersFinished);
    return continueAsNew<typeof deployment>({
      name: entity.name,
      state: entity.state,
      pending: entity.pending,
      hardStopRequested: entity.hardStopRequested,
    });
  };
  // A deleted entity holding unexpired nonces waits for them to expire, or for a deploy (which begins
  // the next incarnation in this run), or continues as new still lingering. 'done': it may complete.
  const linger = async (): Promise<'deploy' | 'done'> => {
    const until = entity.guardUntil();
    if (until === null || until <= Date.now()) return 'done';
    entity.lingering = true;
    showDetails();
    await condition(
      () => entity.pending !== null || workflowInfo().continueAsNewSuggested,
      until - Date.now(),
    );
    entity.lingering = false;
    if (entity.pending !== null) return 'deploy';
    if (workflowInfo().continueAsNewSuggested) await continueAsNewNow();
    return 'done';
  };

  for (;;) {
    // Only a lingering entity gets here deleted (after its delete, or carried across continue-as-new).
    if (entity.state.deleted && (await linger()) === 'done') break;
    await condition(
      () =>
        entity.pending !== null ||
        entity.hardStopRequested ||
        (workflowInfo().continueAsNewSuggested && !entity.busy),
    );
    // Between operations, continue as new when the server suggests it, carrying an accepted operation
    // that has not started yet: a busy entity is never idle, so waiting for idleness could wait forever.
    if (workflowInfo().continueAsNewSuggested && entity.current === null) await continueAsNewNow();
    if (entity.hardStopRequested && !entity.pending) {
      entity.hardStopRequested = false;
      if (entity.state.manifest !== null && !entity.state.deleted)
        entity.accept('stop', { stop: { hard: true } });
    }
    const next = entity.takePending();
    if (next) {
      showDetails();
      let result: OperationResult | null = null;
      let error: string | null = null;
      try {
        const summary = operationSummary(next.ticket.kind, entity.name, null);
        child = await startChild(operation, {
          workflowId: next.ticket.workflowId,
          args: [next.input],
          staticSummary: next.input.reason ? `${summary}: ${next.input.reason}` : summary,
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
      showDetails();
      // Checked in this order so that entities with nothing to guard write no marker (as before it).
      if (entity.state.deleted && (entity.guardUntil() === null || !patched(LINGER_AFTER_DELETE))) break;
      continue;
    }
  }
  await stopWatching();
  await condition(allHandlersFinished);
  return entity.state;
}

/** A dry run's flag on the operation's input, and nothing when not asked (inputs as they always were). */
function planOnly(dryRun: boolean | undefined): { dryRun?: true } {
  return dryRun === true ? { dryRun: true } : {};
}
