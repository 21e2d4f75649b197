// Worker Deployment Versioning on the real dev server: two builds of the worker run at once. An
// operation started on build a finishes on a after build b becomes current (PINNED), while a new
// operation runs on b; the entities follow the current build (AUTO_UPGRADE).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '@temporalio/worker';
import { Deployments } from '../../src/client/deployments';
import type { Manifest } from '../../src/domain/manifest';
import { setCurrentVersion } from '../../src/temporal/worker-deployments';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { startRegion, type StartedRegion } from '../support/region';
import {
  closeTestConnections,
  createTestWorker,
  taskQueueFor,
  temporalNamespace,
  testClient,
  testConnection,
} from '../support/temporal';
import { untilEnacting } from '../support/progress';

const cc = cloudConfig();
let region: StartedRegion;

beforeAll(async () => {
  region = await startRegion({ faults: { build_ms: 30, delete_ms: 30 } });
});
afterAll(async () => {
  await region?.stop();
  await closeTestConnections();
});

async function versionOf(workflowId: string): Promise<{ buildId: string | null; behavior: unknown }> {
  const described = await (await testClient()).workflow.getHandle(workflowId).describe();
  const info = described.raw.workflowExecutionInfo?.versioningInfo;
  return { buildId: info?.deploymentVersion?.buildId ?? null, behavior: info?.behavior ?? null };
}

describe('Worker Deployment Versioning', () => {
  it('an operation started on build a finishes on a while a new operation runs on build b', async () => {
    const taskQueue = taskQueueFor('worker versioning');
    const deploymentName = taskQueue; // unique per run, and without dots
    const version = (buildId: string) => ({ deploymentName, buildId });
    const worker = (buildId: string): Promise<Worker> =>
      createTestWorker({
        taskQueue,
        cloud: region.client,
        env: { CONVERGE_WORKER_DEPLOYMENT: deploymentName, CONVERGE_BUILD_ID: buildId },
      });
    const d = new Deployments(await testClient(), { taskQueue, limits: { buildDeadlineMs: 60_000 } });
    const connection = await testConnection();
    const bump = (m: Manifest) => {
      const s = m.stemcells[0];
      if (s) s.version = '1.182';
    };

    const a = await worker('a');
    const runA = a.run();
    let b: Worker | null = null;
    let runB: Promise<void> | null = null;
    try {
      await setCurrentVersion(connection, temporalNamespace(), version('a'));
      const first = await d.wait(
        await d.deploy('versioned-a', { manifest: smallManifest('versioned-a'), cloudConfig: cc }),
      );
      expect(first.status, JSON.stringify(first.failure)).toBe('converged');

      // An operation on a, slowed down so that it is still enacting when b becomes current.
      await region.client.setFaults({ build_ms: 1500, delete_ms: 300 });
      const onA = await d.deploy('versioned-a', {
        manifest: smallManifest('versioned-a', bump),
        cloudConfig: cc,
      });
      await untilEnacting(d, onA);

      b = await worker('b');
      runB = b.run();
      await setCurrentVersion(connection, temporalNamespace(), version('b'));
      const onB = await d.deploy('versioned-b', { manifest: smallManifest('versioned-b'), cloudConfig: cc });
      await untilEnacting(d, onB);
      expect((await d.progress(onA)).phase).toBe('enacting');

      const [resultA, resultB] = await Promise.all([d.wait(onA), d.wait(onB)]);
      expect(resultA.status, JSON.stringify(resultA.failure)).toBe('converged');
      expect(resultB.status, JSON.stringify(resultB.failure)).toBe('converged');
      // The operations are pinned to the build they started on; the entity that started the one on a
      // has moved to b.
      expect(await versionOf(onA.workflowId)).toEqual({ buildId: 'a', behavior: PINNED });
      expect(await versionOf(onB.workflowId)).toEqual({ buildId: 'b', behavior: PINNED });
      expect(await versionOf('deployment/versioned-a')).toEqual({ buildId: 'b', behavior: AUTO_UPGRADE });
    } finally {
      await region.client.setFaults({ build_ms: 30, delete_ms: 30 });
      a.shutdown();
      b?.shutdown();
      await Promise.all([runA, runB]);
    }
  });
});

// temporal.api.enums.v1.VersioningBehavior
const PINNED = 1;
const AUTO_UPGRADE = 2;
