// Bundling the workflow code (webpack + swc) costs a few seconds of CPU. `npm run build` does it once
// for src/workflows (see build-info.ts); anything else (a test's own workflows, a checkout whose
// sources changed since the build) is bundled once per process and handed to each `Worker.create`.
import {
  bundleWorkflowCode,
  type WorkflowBundleOption,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { prebuiltWorkflowBundle } from './build-info';
import { WORKFLOWS_PATH } from './paths';

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/**
 * The workflow bundle for `workflowsPath` (default: src/workflows/index.ts): for the default, the
 * prebuilt one when it is current; otherwise built once per process.
 */
export function bundleWorkflows(workflowsPath: string = WORKFLOWS_PATH): Promise<WorkflowBundleOption> {
  if (workflowsPath === WORKFLOWS_PATH) {
    const prebuilt = prebuiltWorkflowBundle();
    if (prebuilt !== null) return Promise.resolve({ codePath: prebuilt.codePath });
  }
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
