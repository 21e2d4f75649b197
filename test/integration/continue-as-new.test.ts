// History limits: the operation continues as new once its history passes the threshold (lowered here),
// and the deployment entity continues as new when the server suggests it and it is idle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudConfig, group, smallManifest } from '../support/fixtures';
import { testClient } from '../support/temporal';
import { startHarness, type Harness } from './harness';

let h: Harness;
const cc = cloudConfig();

beforeAll(async () => {
  h = await startHarness('continue-as-new', { limits: { historyThreshold: 60, maxConcurrentSteps: 4 } });
});
afterAll(async () => {
  await h?.stop();
});

describe('continue-as-new', () => {
  it('an operation whose history passes the threshold drains, continues as new and converges', async () => {
    const m = smallManifest('longop', (x) => {
      group(x, 'api').instances = 8;
    });
    const r = await h.deploy(m, cc);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    expect(r.continuedAsNew).toBeGreaterThan(0);
    await h.expectInvariants(r, { manifest: m, cloudConfig: cc });

    const bumped = smallManifest('longop', (x) => {
      group(x, 'api').instances = 8;
      x.stemcells[0]!.version = '1.182';
    });
    const before = await h.seq();
    const swap = await h.deploy(bumped, cc);
    expect(swap.status, JSON.stringify(swap.failure)).toBe('converged');
    expect(swap.continuedAsNew).toBeGreaterThan(0);
    expect(swap.summary.replace).toBe(10);
    await h.expectInvariants(swap, { manifest: bumped, cloudConfig: cc }, before);
  });

  it('the deployment entity continues as new when suggested, keeping its records', async () => {
    const m = smallManifest('longlived');
    const first = await h.deploy(m, cc);
    const client = await testClient();
    const firstRun = (await client.workflow.getHandle('deployment/longlived').describe()).runId;
    let runId = firstRun;
    for (let i = 0; i < 40 && runId === firstRun; i++) {
      const r = await h.deploy(m, cc);
      expect(r.status).toBe('converged');
      runId = (await client.workflow.getHandle('deployment/longlived').describe()).runId;
    }
    expect(runId).not.toBe(firstRun);
    const status = await h.deployments.status('longlived');
    expect(status.instances.map((row) => row.instance).sort()).toEqual(
      first.records.map((r) => `${r.group}/${r.id}`).sort(),
    );
    const again = await h.deploy(m, cc);
    expect(again.stepsTotal).toBe(0);
  });
});
