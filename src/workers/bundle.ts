// Bundling the workflow code (webpack + swc) costs a few seconds of CPU. `npm run build` does it once
// for src/workflows (see build-info.ts); anything else (a test's own workflows, a checkout whose
// sources changed since the build) is bundled once per process and handed to each `Worker.create`.
import {
  bundleWorkflowCode,
  type WorkflowBundleOption,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { prebuiltWorkflowBundle, type BundleChoice } from './build-info';
import { WORKFLOW_PAYLOAD_CONVERTER_PATH, WORKFLOWS_PATH } from './paths';

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/**
 * The traced bundle's workflow interceptors (as in scripts/build.mjs): the SDK's OpenTelemetry ones,
 * then Converge's, which start each operation in the trace of the update that asked for it.
 */
const TRACING_INTERCEPTORS = (): string[] => [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
  join(dirname(WORKFLOWS_PATH), 'tracing-interceptors.ts'),
];

/**
 * The workflow bundle for `workflowsPath` (default: src/workflows/index.ts), with the OpenTelemetry
 * workflow interceptors when `traced`: for the default path, the prebuilt one when it is current;
 * otherwise built once per process.
 */
export function bundleWorkflows(
  workflowsPath: string = WORKFLOWS_PATH,
  choice: BundleChoice = {},
): Promise<WorkflowBundleOption> {
  if (workflowsPath === WORKFLOWS_PATH) {
    const prebuilt = prebuiltWorkflowBundle(undefined, choice);
    if (prebuilt !== null) return Promise.resolve({ codePath: prebuilt.codePath });
  }
  const traced = choice.traced === true;
  const key = `${workflowsPath}\0${traced}`;
  let bundle = bundles.get(key);
  if (bundle === undefined) {
    bundle = bundleWorkflowCode({
      workflowsPath,
      payloadConverterPath: WORKFLOW_PAYLOAD_CONVERTER_PATH,
      workflowInterceptorModules: traced ? TRACING_INTERCEPTORS() : [],
      logger: quietBundlerLogger,
    });
    // A failed build must not poison the cache: the next caller tries again (and sees the error).
    bundle.catch(() => bundles.delete(key));
    bundles.set(key, bundle);
  }
  return bundle;
}

/** A fresh bundle, bypassing the cache (e.g. after the sources changed in watch mode). */
export function buildWorkflowBundle(
  workflowsPath: string = WORKFLOWS_PATH,
): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath,
    payloadConverterPath: WORKFLOW_PAYLOAD_CONVERTER_PATH,
    logger: quietBundlerLogger,
  });
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
