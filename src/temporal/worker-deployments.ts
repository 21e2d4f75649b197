// Worker Deployment Versioning seen from outside a worker: which build a worker polls as, and making
// a build current. New workflows, and the entity on its next task, go to the current build; pinned
// operations stay on theirs. `converge dev up` and the tests use it; on a real cluster
// `temporal worker deployment set-current-version` does the same.
import type { Connection } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import proto from '@temporalio/proto'; // CommonJS: named ESM imports fail at runtime under Node

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

/**
 * Sets `version` current in `namespace` and returns the build that was current before it (null: none,
 * or the same build). The server learns of a version from its workers' polls, so this asks again
 * (every 200 ms, up to `timeoutMs`) until a worker of that build has polled.
 */
export async function setCurrentVersion(
  connection: Connection,
  namespace: string,
  version: WorkerDeploymentVersion,
  timeoutMs = 30_000,
): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const answer = await connection.workflowService.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName: version.deploymentName,
        buildId: version.buildId,
        identity: 'converge',
      });
      const previous = answer.previousDeploymentVersion?.buildId ?? '';
      return previous === '' || previous === version.buildId ? null : previous;
    } catch (err) {
      if (Date.now() > deadline) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(
          `cannot make build ${version.buildId} of worker deployment ${version.deploymentName} current: ${why}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/**
 * The build the workflow poller named `identity` serves on `taskQueue`, as it told the server; null
 * when it polls unversioned or does not poll.
 */
export async function pollerVersion(
  connection: Connection,
  namespace: string,
  taskQueue: string,
  identity: string,
): Promise<WorkerDeploymentVersion | null> {
  const { pollers } = await connection.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const options = pollers.find((p) => p.identity === identity)?.deploymentOptions;
  const deploymentName = options?.deploymentName ?? '';
  const buildId = options?.buildId ?? '';
  return deploymentName === '' || buildId === '' ? null : { deploymentName, buildId };
}

/**
 * The build current in worker deployment `deploymentName`: null when none is, or the server has not
 * heard of the deployment yet (no worker of it ever polled).
 */
export async function currentBuild(
  connection: Connection,
  namespace: string,
  deploymentName: string,
): Promise<string | null> {
  try {
    const { workerDeploymentInfo } = await connection.workflowService.describeWorkerDeployment({
      namespace,
      deploymentName,
    });
    const buildId = workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId ?? '';
    return buildId === '' ? null : buildId;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** gRPC NOT_FOUND (code 5). */
function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 5;
}
