// Worker Deployment Versioning per workflow type. The server refuses a versioning behavior from a
// worker that has no deployment version ("versioning behavior cannot be specified without deployment
// options"), so the behavior is given only when the task runs on a versioned worker: one with a
// deployment name (an unversioned worker reports a version with a build id and no name).
import { workflowInfo } from '@temporalio/workflow';

type Behavior = 'PINNED' | 'AUTO_UPGRADE';

export function whenVersioned(behavior: Behavior): () => { versioningBehavior?: Behavior } {
  return () =>
    (workflowInfo().currentDeploymentVersion?.deploymentName ?? '') === ''
      ? {}
      : { versioningBehavior: behavior };
}
