// `converge worker` for the chaos harness: the same runWorker (real activities, env-configured
// connection and region), but with the workflow bundle the run built once (CHAOS_WORKFLOW_BUNDLE).
// Why: every worker of a run must execute the same workflow code. A worker that bundles the working
// tree at start picks up whatever changed since the last one started, and a fleet mixing old and new
// code fails replay (a patch marker the old code does not know is a nondeterminism error). Pinning
// the bundle also makes restarts after a SIGKILL faster (no webpack).
import { runWorker } from '../../src/workers/worker';

const codePath = process.env.CHAOS_WORKFLOW_BUNDLE;
if (!codePath) {
  console.error('chaos worker: CHAOS_WORKFLOW_BUNDLE is not set');
  process.exit(2);
}
// Die with the harness: it holds our stdin open, so end-of-input means it is gone (even after a SIGKILL).
process.stdin.on('end', () => process.exit(1));
process.stdin.resume();
await runWorker({ workflowBundle: { codePath } });
