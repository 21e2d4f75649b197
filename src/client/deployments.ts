// Talking to deployment entities: the one client path the CLI, the benchmarks and the tests share.
import {
  ApplicationFailure,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { UserError } from '../domain/errors';
import { EXIT } from '../domain/exit-codes';
import type { RequestKind, SignedRequest } from '../domain/permissions';
import { signRequest, type Identity } from './identity';
import { listOperations, type OperationSummary } from './operations';
import {
  DEPLOYMENT_DELETED,
  PERMISSION_DENIED,
  cancelUpdate,
  cckUpdate,
  deleteUpdate,
  deployUpdate,
  eventsQuery,
  hardStopUpdate,
  instanceActionUpdate,
  operationPlanQuery,
  planQuery,
  progressQuery,
  recreateUpdate,
  startUpdate,
  statusQuery,
  stopUpdate,
} from '../workflows/messages';
import {
  deploymentWorkflowId,
  type CckRequest,
  type DeployRequest,
  type DeploymentStatus,
  type EventLogView,
  type InstanceActionRequest,
  type InstancesRequest,
  type OperationLimits,
  type OperationProgress,
  type OperationResult,
  type OperationTicket,
  type PlanView,
  type StopRequest,
} from '../workflows/types';

export interface DeploymentsOptions {
  taskQueue: string;
  /** Thresholds for new deployment entities (tests lower them to exercise continue-as-new). */
  limits?: Partial<OperationLimits>;
  /** Signs each request (see identity.ts); without one requests go unsigned (permissions off). */
  identity?: Identity | null;
}

export class Deployments {
  constructor(
    private readonly client: Client,
    private readonly options: DeploymentsOptions,
  ) {}

  private entity(name: string): WorkflowHandle {
    return this.client.workflow.getHandle(deploymentWorkflowId(name));
  }

  /** An update's arguments: the request, then its signature block when there is an identity. */
  private signed<R>(name: string, kind: RequestKind, req: R): [R] | [R, SignedRequest] {
    const identity = this.options.identity;
    return identity ? [req, signRequest(identity, name, kind, req)] : [req];
  }

  /** Starts a deploy operation, creating the deployment entity on first use (update-with-start). */
  async deploy(name: string, req: DeployRequest): Promise<OperationTicket> {
    const start = new WithStartWorkflowOperation('deployment', {
      workflowId: deploymentWorkflowId(name),
      taskQueue: this.options.taskQueue,
      args: [{ name, ...(this.options.limits ? { limits: this.options.limits } : {}) }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `deployment ${name}`,
    });
    // Signed per attempt: a retried request needs a fresh nonce.
    const attempt = () =>
      this.client.workflow.executeUpdateWithStart(deployUpdate, {
        args: this.signed(name, 'deploy', req),
        startWorkflowOperation: start,
      });
    return rejectionsAsUserErrors(name, async () => {
      try {
        return await attempt();
      } catch (err) {
        if (!isDeletedRejection(err)) throw err;
        // A deleted deployment's entity refuses work in the moments before its run completes; once it
        // has, update-with-start begins a new incarnation. Wait for that (bounded), then ask again.
        // (An entity lingering after a delete to keep its nonces takes the deploy itself: no refusal.)
        await Promise.race([
          this.entity(name)
            .result()
            .catch(() => undefined),
          sleep(DELETED_CLOSE_WAIT_MS),
        ]);
        return attempt();
      }
    });
  }

  stop(name: string, req: StopRequest): Promise<OperationTicket> {
    return rejectionsAsUserErrors(name, () =>
      this.entity(name).executeUpdate(stopUpdate, {
        args: this.signed(name, req.hard === true ? 'stop-hard' : 'stop', req),
      }),
    );
  }

  /** `dryRun`: plan only, as a deploy's dry run (the result is `planned`, with the plan). */
  start(name: string, instances?: string[], options: { dryRun?: boolean } = {}): Promise<OperationTicket> {
    return rejectionsAsUserErrors(name, () =>
      this.entity(name).executeUpdate(startUpdate, {
        args: this.signed(name, 'start', instancesRequest(instances, options)),
      }),
    );
  }

  recreate(name: string, instances?: string[], options: { dryRun?: boolean } = {}): Promise<OperationTicket> {
    return rejectionsAsUserErrors(name, () =>
      this.entity(name).executeUpdate(recreateUpdate, {
        args: this.signed(name, 'recreate', instancesRequest(instances, options)),
      }),
    );
  }

  delete(name: string): Promise<OperationTicket> {
    return rejectionsAsUserErrors(name, () =>
      this.entity(name).executeUpdate(deleteUpdate, { args: this.signed(name, 'delete', {}) }),
    );
  }

  instanceAction(name: string, req: InstanceActionRequest): Promise<OperationTicket> {
    return rejectionsAsUserErrors(name, () =>
      this.entity(name).executeUpdate(instanceActionUpdate, {
        args: this.signed(name, 'instance-action', req),
      }),
    );
  }

  /** Asks the running operation to finish its in-flight steps and start no more. */
  async cancel(name: string): Promise<void> {
    await rejectionsAsUserErrors(name, () =>
      this.entity(name).executeUpdate(cancelUpdate, { args: this.signed(name, 'cancel', {}) }),
    );
  }

  /** Cloud check: a report (no resolution, a dry run) or one resolution applied as an operation. */
  cck(name: string, req: CckRequest): Promise<OperationTicket> {
    return rejectionsAsUserErrors(name, () =>
      this.entity(name).executeUpdate(cckUpdate, { args: this.signed(name, 'cck', req) }),
    );
  }

  /** Cancels what runs, then hard-stops every instance. */
  async hardStop(name: string): Promise<void> {
    await rejectionsAsUserErrors(name, () =>
      this.entity(name).executeUpdate(hardStopUpdate, { args: this.signed(name, 'hard-stop-now', {}) }),
    );
  }

  /** The deployment's operations, newest first (see operations.ts). */
  operations(name: string, limit?: number): Promise<OperationSummary[]> {
    return listOperations(this.client, name, limit);
  }

  /** The deployment's status and, while an operation runs, its progress and what it waits on. */
  async status(name: string): Promise<DeploymentStatus> {
    const status = await rejectionsAsUserErrors(name, () => this.entity(name).query(statusQuery));
    if (!status.current) return status;
    // Between runs (continue-as-new) or just finished: the entity's status still stands.
    const progress = await this.progress(status.current).catch(() => null);
    return { ...status, progress };
  }

  /** The deployment's event log: operations and state changes, newest last. */
  events(name: string): Promise<EventLogView> {
    return rejectionsAsUserErrors(name, () => this.entity(name).query(eventsQuery));
  }

  /** The deployment's status, or null when there is none (never deployed, or deleted). */
  async find(name: string): Promise<DeploymentStatus | null> {
    try {
      const status = await this.entity(name).query(statusQuery);
      return status.deleted ? null : status;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /** Every live deployment on this task queue, by name, with its status. */
  async list(): Promise<DeploymentStatus[]> {
    const prefix = deploymentWorkflowId('');
    const names: string[] = [];
    const query =
      `WorkflowType = 'deployment' AND ExecutionStatus = 'Running' AND ` +
      `TaskQueue = '${this.options.taskQueue.replaceAll("'", "\\'")}'`;
    for await (const wf of this.client.workflow.list({ query })) {
      if (wf.workflowId.startsWith(prefix)) names.push(wf.workflowId.slice(prefix.length));
    }
    names.sort();
    const found = await Promise.all(names.map((n) => this.find(n).catch(() => null)));
    return found.filter((s): s is DeploymentStatus => s !== null);
  }

  plan(name: string): Promise<PlanView | null> {
    return rejectionsAsUserErrors(name, () => this.entity(name).query(planQuery));
  }

  progress(ticket: OperationTicket): Promise<OperationProgress> {
    return this.client.workflow.getHandle(ticket.workflowId).query(progressQuery);
  }

  operationPlan(ticket: OperationTicket): Promise<PlanView | null> {
    return this.client.workflow.getHandle(ticket.workflowId).query(operationPlanQuery);
  }

  /** Waits for the operation's plan (it is computed after the operation observes the cloud). */
  async waitForPlan(ticket: OperationTicket, pollMs = 200): Promise<PlanView | null> {
    const handle = this.client.workflow.getHandle(ticket.workflowId);
    for (;;) {
      try {
        const plan = await handle.query(operationPlanQuery);
        if (plan) return plan;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      const desc = await handle.describe().catch(() => null);
      if (desc && desc.status.name !== 'RUNNING') return handle.query(operationPlanQuery).catch(() => null);
      await sleep(pollMs);
    }
  }

  /** Waits for an operation to end, reporting progress every `pollMs` while it runs. */
  async wait(
    ticket: OperationTicket,
    onProgress?: (p: OperationProgress) => void,
    pollMs = 500,
  ): Promise<OperationResult> {
    const handle = await this.operationHandle(ticket);
    let finished = false;
    const result = handle.result() as Promise<OperationResult>;
    void result.finally(() => (finished = true)).catch(() => undefined);
    if (onProgress) {
      while (!finished) {
        try {
          onProgress(await handle.query(progressQuery));
        } catch {
          // The operation may be between runs (continue-as-new) or just finished.
        }
        await Promise.race([result.catch(() => undefined), sleep(pollMs)]);
      }
    }
    const outcome = await result;
    await this.settled(ticket);
    return outcome;
  }

  /**
   * The operation's result reaches us before the entity has recorded it; wait until it has, so the
   * next command sees the new records and is not refused as "busy".
   */
  private async settled(ticket: OperationTicket): Promise<void> {
    for (let i = 0; i < 300; i++) {
      const status = await this.entity(ticket.deployment)
        .query(statusQuery)
        .catch(() => null);
      if (!status || status.current?.operation !== ticket.operation) return;
      await sleep(50);
    }
  }

  /** The operation's handle, once the entity has started it. */
  private async operationHandle(ticket: OperationTicket): Promise<WorkflowHandle> {
    const handle = this.client.workflow.getHandle(ticket.workflowId);
    for (let i = 0; ; i++) {
      try {
        await handle.describe();
        return handle;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError) || i > 600) throw err;
        await sleep(100);
      }
    }
  }
}

/** The request of start and recreate: fields only when given, so the signed digest is the same as before. */
function instancesRequest(instances: string[] | undefined, options: { dryRun?: boolean }): InstancesRequest {
  return { ...(instances ? { instances } : {}), ...(options.dryRun === true ? { dryRun: true } : {}) };
}

/** How long a deploy waits for a just-deleted deployment's entity to close before asking again. */
const DELETED_CLOSE_WAIT_MS = 30_000;

/** The entity's validator refused because the deployment was deleted (its run is about to complete). */
function isDeletedRejection(err: unknown): boolean {
  return (
    err instanceof WorkflowUpdateFailedError &&
    err.cause instanceof ApplicationFailure &&
    err.cause.type === DEPLOYMENT_DELETED
  );
}

/** An update a validator rejected, or a deployment that does not exist: the user's to fix (exit 2). */
async function rejectionsAsUserErrors<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      if (err.cause instanceof ApplicationFailure && err.cause.type === PERMISSION_DENIED) {
        throw new UserError(err.cause.message, EXIT.denied);
      }
      throw new UserError(`rejected: ${err.cause?.message ?? err.message}`, 2);
    }
    if (err instanceof WorkflowNotFoundError) {
      throw new UserError(`no deployment named '${name}' (deploy it first with 'converge deploy')`, 2);
    }
    throw err;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
