// Making a worker build current (Worker Deployment Versioning): new workflows, and the entity on its
// next task, go to the current build; pinned operations stay on theirs. `converge dev up` and the tests
// use it; on a real cluster `temporal worker deployment set-current-version` does the same.
import type { Connection } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';

/**
 * Sets `version` current in `namespace`. The server learns of a version from its workers' polls, so
 * this asks again (every 200 ms, up to `timeoutMs`) until a worker of that build has polled.
 */
export async function setCurrentVersion(
  connection: Connection,
  namespace: string,
  version: WorkerDeploymentVersion,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await connection.workflowService.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName: version.deploymentName,
        buildId: version.buildId,
        identity: 'converge',
      });
      return;
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
