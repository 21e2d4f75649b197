// One real Temporal dev server (the Temporal CLI, in memory, on a free port) for the whole
// integration project, and one bundle of src/workflows for every test file (vitest isolates
// modules per file, so a per-process cache alone would rebundle in each). Tests reach both through
// `inject` (see test/support/temporal.ts).
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { buildWorkflowBundle } from '../../src/workers/bundle';
import { resolveTemporalCli, searchAttributeArgs } from '../../src/workers/temporal-server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
    /** The prebuilt src/workflows bundle, or '' when it failed (each test then rebuilds and shows why). */
    workflowBundlePath: string;
  }
}

const bundlePath = join(tmpdir(), `converge-workflow-bundle-${process.pid}.js`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  removeOrphanedBundles();
  const path = resolveTemporalCli();
  const started = Date.now();
  const bundling = writeBundle(); // overlaps with the server start
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
  project.provide('workflowBundlePath', await bundling);
  // Watch mode: the workflow sources may have changed since the last run.
  project.onTestsRerun(async () => {
    project.provide('workflowBundlePath', await writeBundle());
  });
  return async () => {
    await env.teardown();
    rmSync(bundlePath, { force: true });
  };
}

async function writeBundle(): Promise<string> {
  const started = Date.now();
  try {
    const { code } = await buildWorkflowBundle();
    writeFileSync(bundlePath, code);
    console.log(`[integration] workflow bundle built once (${Date.now() - started} ms)`);
    return bundlePath;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    console.warn(`[integration] workflow bundle failed (${reason}); tests will rebuild and report it`);
    return '';
  }
}

// A run that was killed never reached its teardown; drop the bundles of processes that are gone.
function removeOrphanedBundles(): void {
  for (const file of readdirSync(tmpdir())) {
    const pid = /^converge-workflow-bundle-(\d+)\.js$/.exec(file)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      rmSync(join(tmpdir(), file), { force: true });
    }
  }
}
