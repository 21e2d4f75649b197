// Bundling the workflow code (webpack + swc) costs a few seconds of CPU. Tests and benches that
// start many workers pay it once per process and hand the bundle to each `Worker.create`.
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './paths';

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/** The workflow bundle for `workflowsPath` (default: src/workflows/index.ts), built once per process. */
export function bundleWorkflows(
  workflowsPath: string = WORKFLOWS_PATH,
): Promise<WorkflowBundleWithSourceMap> {
  let bundle = bundles.get(workflowsPath);
  if (bundle === undefined) {
    bundle = bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
    // A failed build must not poison the cache: the next caller tries again (and sees the error).
    bundle.catch(() => bundles.delete(workflowsPath));
    bundles.set(workflowsPath, bundle);
  }
  return bundle;
}

/** A fresh bundle, bypassing the cache (e.g. after the sources changed in watch mode). */
export function buildWorkflowBundle(
  workflowsPath: string = WORKFLOWS_PATH,
): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
}

// Webpack's INFO chatter ("asset workflow-bundle.js 1.2 MiB") drowns test output; warnings stay.
const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(`[bundler] ${message}`),
  error: (message: string) => console.error(`[bundler] ${message}`),
};
