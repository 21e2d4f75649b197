// One region process and one Converge worker per test file, on the suite's real Temporal dev server.
import type { Worker } from '@temporalio/worker';
import { expect } from 'vitest';
import { Deployments } from '../../src/client/deployments';
import type { CloudConfig } from '../../src/domain/cloud-config';
import type { Manifest } from '../../src/domain/manifest';
import type { OperationLimits, OperationResult, OperationTicket } from '../../src/workflows/types';
import { checkInvariants, lastEventSeq, type InvariantReport } from '../support/invariants';
import { startRegion, type StartedRegion } from '../support/region';
import { closeTestConnections, createTestWorker, taskQueueFor, testClient } from '../support/temporal';

export interface Harness {
  region: StartedRegion;
  deployments: Deployments;
  taskQueue: string;
  /** Deploys and waits for the operation to end. */
  deploy(
    manifest: Manifest,
    cloudConfig: CloudConfig,
    extra?: { recreate?: boolean },
  ): Promise<OperationResult>;
  wait(ticket: OperationTicket): Promise<OperationResult>;
  /** DESIGN §9 for the deployment after `result`, scoped to events since `sinceSeq`. */
  invariants(
    result: OperationResult,
    desired?: { manifest: Manifest; cloudConfig: CloudConfig },
    sinceSeq?: number,
  ): Promise<InvariantReport>;
  expectInvariants(
    result: OperationResult,
    desired?: { manifest: Manifest; cloudConfig: CloudConfig },
    sinceSeq?: number,
  ): Promise<InvariantReport>;
  seq(): Promise<number>;
  /** Replaces the worker with a new one (empty workflow cache: the next task replays from history). */
  restartWorker(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(
  name: string,
  options: {
    limits?: Partial<OperationLimits>;
    buildMs?: number;
    deleteMs?: number;
    /** The worker's environment (e.g. CONVERGE_CALLBACK_SECRET). */
    env?: Record<string, string>;
  } = {},
): Promise<Harness> {
  const region = await startRegion({
    faults: { build_ms: options.buildMs ?? 30, delete_ms: options.deleteMs ?? 30 },
  });
  const taskQueue = taskQueueFor(name);
  const env = options.env ?? {};
  let worker: Worker = await createTestWorker({ taskQueue, cloud: region.client, env });
  let running = worker.run();
  const deployments = new Deployments(await testClient(), {
    taskQueue,
    limits: { buildDeadlineMs: 60_000, ...options.limits },
  });
  const h: Harness = {
    region,
    deployments,
    taskQueue,
    async deploy(manifest, cloudConfig, extra = {}) {
      const ticket = await deployments.deploy(manifest.name, { manifest, cloudConfig, ...extra });
      return deployments.wait(ticket);
    },
    wait: (ticket) => deployments.wait(ticket),
    invariants: (result, desired, sinceSeq) =>
      checkInvariants({
        cloud: region.client,
        deployment: result.deployment,
        records: result.records,
        ...(desired ? { desired } : {}),
        ...(sinceSeq !== undefined ? { sinceSeq } : {}),
      }),
    async expectInvariants(result, desired, sinceSeq) {
      const report = await h.invariants(result, desired, sinceSeq);
      expect(report.violations, report.violations.join('\n')).toEqual([]);
      return report;
    },
    seq: () => lastEventSeq(region.client),
    async restartWorker() {
      worker.shutdown();
      await running;
      worker = await createTestWorker({ taskQueue, cloud: region.client, env });
      running = worker.run();
    },
    async stop() {
      worker.shutdown();
      await running;
      await region.stop();
      await closeTestConnections();
    },
  };
  return h;
}
