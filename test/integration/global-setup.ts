// One real Temporal dev server (the Temporal CLI, in memory, on a free port) for the whole
// integration project. Tests reach it through `inject('temporalAddress')` (see test/support/temporal.ts).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { resolveTemporalCli, searchAttributeArgs } from '../../src/workers/temporal-server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const path = resolveTemporalCli();
  const started = Date.now();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ip: '127.0.0.1',
      ui: false,
      namespace: 'default',
      extraArgs: searchAttributeArgs(),
    },
  });
  console.log(`[integration] Temporal dev server at ${env.address} (${Date.now() - started} ms, ${path})`);
  project.provide('temporalAddress', env.address);
  project.provide('temporalNamespace', env.namespace ?? 'default');
  return async () => {
    await env.teardown();
  };
}
