// A deleted deployment deployed again under the same name: the new entity run starts at op-1 again,
// so its idempotency keys and instance uuids must not collide with the first incarnation's (whose
// allocations and servers the region remembers as deleted and answers 410 Gone for).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG } from '../../src/domain/cloud';
import { deploymentWorkflowId } from '../../src/workflows/types';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { observeDeployment } from '../support/invariants';
import { testClient } from '../support/temporal';
import { startHarness, type Harness } from './harness';

let h: Harness;
const cc = cloudConfig();

beforeAll(async () => {
  h = await startHarness('redeploy-after-delete');
});
afterAll(async () => {
  await h?.stop();
});

describe('redeploy after delete', () => {
  it('deploys, deletes, deploys the same name again: converged, with new instance uuids', async () => {
    const m = smallManifest('again');
    const first = await h.deploy(m, cc);
    expect(first.status, JSON.stringify(first.failure)).toBe('converged');
    const firstIds = first.records.map((r) => r.id);
    expect(firstIds).toHaveLength(5);
    const firstTags = new Set(
      (await observeDeployment(h.region.client, 'again')).servers.map((s) => s.tags[TAG.operation]),
    );
    expect(firstTags.size).toBe(1);

    const deleted = await h.wait(await h.deployments.delete('again'));
    expect(deleted.status, JSON.stringify(deleted.failure)).toBe('converged');
    // The entity completes after a converged delete; the next deploy must start a new run, not reach
    // the old one (which refuses everything once deleted).
    await (await testClient()).workflow.getHandle(deploymentWorkflowId('again')).result();
    expect(await observeDeployment(h.region.client, 'again')).toEqual({
      servers: [],
      allocations: [],
      volumes: [],
    });

    const before = await h.seq();
    const second = await h.deploy(m, cc);
    expect(second.operation).toBe('op-1'); // the human-facing name starts over with the new run
    expect(second.status, JSON.stringify(second.failure)).toBe('converged');
    const secondIds = second.records.map((r) => r.id);
    expect(secondIds).toHaveLength(5);
    for (const id of secondIds) expect(firstIds).not.toContain(id);
    const report = await h.expectInvariants(second, { manifest: m, cloudConfig: cc }, before);
    expect(report.observed.servers).toHaveLength(5);
    expect(report.observed.volumes).toHaveLength(2);
    // Keys and the operation tag carry the incarnation; the first incarnation's servers carried another.
    const secondTags = new Set(report.observed.servers.map((s) => s.tags[TAG.operation]));
    expect(secondTags.size).toBe(1);
    for (const t of secondTags) {
      expect(t).toMatch(/^op-1@[0-9a-f]{8}$/);
      expect(firstTags).not.toContain(t);
    }
  });

  it('a deploy sent right after a delete waits for the old entity to close instead of being refused', async () => {
    const m = smallManifest('again-fast');
    expect((await h.deploy(m, cc)).status).toBe('converged');
    const deleted = await h.wait(await h.deployments.delete('again-fast'));
    expect(deleted.status).toBe('converged');
    // No wait for the entity here: the old run may still be open and refusing ("has been deleted").
    const second = await h.deploy(m, cc);
    expect(second.status, JSON.stringify(second.failure)).toBe('converged');
    expect(second.operation).toBe('op-1');
  });
});
