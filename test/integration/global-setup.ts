// One real Temporal dev server (the Temporal CLI, in memory, on a free port) for the whole
// integration project, and the workflow bundle `npm run build` prebuilt (built first if the sources
// changed). Tests reach both through `inject` (see test/support/temporal.ts).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { findPrebuiltWorkflowBundle } from '../../src/workers/build-info';
import { resolveTemporalCli } from '../../src/temporal/dev-server';
import { searchAttributeArgs } from '../../src/temporal/search-attributes';
import { ensureBuilt } from '../build-setup';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
    /** The prebuilt src/workflows bundle, or '' when there is none (each test then bundles its own). */
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const path = resolveTemporalCli();
  const started = Date.now();
  ensureBuilt();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ip: '127.0.0.1',
      ui: false,
      namespace: 'default',
      // The server suggests continue-as-new after 200 events (default 4,096), so the suite exercises the
      // deployment entity's continue-as-new path with ordinary tests.
      extraArgs: [
        ...searchAttributeArgs(),
        '--dynamic-config-value',
        'limit.historyCount.suggestContinueAsNew=200',
      ],
    },
  });
  console.log(`[integration] Temporal dev server at ${env.address} (${Date.now() - started} ms, ${path})`);
  project.provide('temporalAddress', env.address);
  project.provide('temporalNamespace', env.namespace ?? 'default');
  project.provide('workflowBundlePath', workflowBundlePath());
  // Watch mode: the workflow sources may have changed since the last run.
  project.onTestsRerun(() => {
    ensureBuilt();
    project.provide('workflowBundlePath', workflowBundlePath());
  });
  return async () => {
    await env.teardown();
  };
}

function workflowBundlePath(): string {
  const prebuilt = findPrebuiltWorkflowBundle();
  if (prebuilt === null)
    console.warn('[integration] no current prebuilt workflow bundle; tests bundle their own');
  return prebuilt?.codePath ?? '';
}
