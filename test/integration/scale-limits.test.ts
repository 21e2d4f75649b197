// The scale path at lowered thresholds: how a 5,000-instance operation stays inside Temporal's limits
// (51,200 events per run, 2,000 pending activities), shrunk to 20 instances so it runs in seconds.
// Each operation here must continue as new more than once, keep every run near the history
// threshold, never have more activities pending than maxConcurrentSteps, and still converge with the
// DESIGN §9 invariants holding: a deploy, a hot_swap of every VM, and a delete. Every run's history
// then replays on the same code: no command may depend on the order concurrent steps finished in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/domain/manifest';
import type { OperationResult, OperationTicket } from '../../src/workflows/types';
import { chainStats, type ChainStats } from '../../scripts/bench/history';
import { cloudConfig, group, smallManifest } from '../support/fixtures';
import { replayFailures } from '../support/replay-live';
import { testClient } from '../support/temporal';
import { startHarness, type Harness } from './harness';

// Low enough that even batched creates and chains (~1 event per VM, no patch markers since the 0.x
// baseline) need several runs.
const HISTORY_THRESHOLD = 20;
const MAX_CONCURRENT_STEPS = 5;
// A run stops starting steps once it passes the threshold, then drains what is in flight: each
// in-flight step adds at most its completion plus a workflow task's events, and the run ends with a
// few events of its own (result details, continue-as-new).
const DRAIN_SLACK = MAX_CONCURRENT_STEPS * 6 + 20;

let h: Harness;
const cc = cloudConfig();

const manifest = (stemcell: string): Manifest =>
  smallManifest('sharded', (m) => {
    m.update = { ...m.update, serial: false, max_in_flight: 3 };
    m.stemcells[0]!.version = stemcell;
    group(m, 'api').instances = 12;
    group(m, 'worker').instances = 8;
  });

beforeAll(async () => {
  h = await startHarness('scale-limits', {
    limits: { historyThreshold: HISTORY_THRESHOLD, maxConcurrentSteps: MAX_CONCURRENT_STEPS },
  });
});
afterAll(async () => {
  await h?.stop();
});

async function run(
  start: () => Promise<OperationTicket>,
): Promise<{ workflowId: string; result: OperationResult; stats: ChainStats }> {
  const ticket = await start();
  const result = await h.wait(ticket);
  expect(result.status, JSON.stringify(result.failure)).toBe('converged');
  const stats = await chainStats(await testClient(), ticket.workflowId);
  return { workflowId: ticket.workflowId, result, stats };
}

function expectWithinLimits(stats: ChainStats): void {
  expect(stats.runs.length, JSON.stringify(stats.runs.map((r) => r.events))).toBeGreaterThan(2);
  for (const r of stats.runs) {
    expect(r.events, `run ${r.runId}`).toBeLessThanOrEqual(HISTORY_THRESHOLD + DRAIN_SLACK);
    expect(r.maxPendingActivities, `run ${r.runId}`).toBeLessThanOrEqual(MAX_CONCURRENT_STEPS);
    expect(r.failedWorkflowTasks, `run ${r.runId}`).toBe(0);
    // Steps are regular activities: their completions are history events, replayed in the order
    // they happened (concurrent local activities are not; see CHEAP_STEPS_AS_ACTIVITIES).
    expect(r.localActivities, `run ${r.runId}`).toBe(0);
  }
}

describe('an operation far larger than its limits', () => {
  it('deploys, hot-swaps every VM and deletes, each across several runs within the limits', async () => {
    const v1 = manifest('1.181');
    const fresh = await run(() => h.deployments.deploy('sharded', { manifest: v1, cloudConfig: cc }));
    expect(fresh.result.summary.create).toBe(20);
    expectWithinLimits(fresh.stats);
    // 20 creates, all ready at once: they go in batches (enactor, CREATE_BATCHES), each batch one of the
    // activity slots (BATCH_SLOTS), so the pending-activity bound above holds with batches too.
    const most = (stats: ChainStats, type: string) =>
      Math.max(...stats.runs.map((r) => r.maxPendingByType[type] ?? 0));
    expect(most(fresh.stats, 'createVms')).toBeGreaterThanOrEqual(1);
    await h.expectInvariants(fresh.result, { manifest: v1, cloudConfig: cc });

    const v2 = manifest('1.182');
    const before = await h.seq();
    const swap = await run(() => h.deployments.deploy('sharded', { manifest: v2, cloudConfig: cc }));
    expect(swap.result.summary.replace).toBe(20);
    expectWithinLimits(swap.stats);
    // The replacements' chains went in batches too (CHAIN_BATCHES), each batch one of the slots.
    expect(most(swap.stats, 'enactChains')).toBeGreaterThanOrEqual(1);
    await h.expectInvariants(swap.result, { manifest: v2, cloudConfig: cc }, before);
    // Every continued run carried the uuids: the same 20 instances, now on new VMs.
    expect(swap.result.records.map((r) => r.id).sort()).toEqual(fresh.result.records.map((r) => r.id).sort());

    const gone = await run(() => h.deployments.delete('sharded'));
    expectWithinLimits(gone.stats);
    const servers = await h.region.client.listServers({ 'converge.deployment': 'sharded' });
    const allocations = await h.region.client.listAllocations({ 'converge.deployment': 'sharded' });
    expect(servers).toEqual([]);
    expect(allocations).toEqual([]);

    const runs = [fresh, swap, gone].flatMap((o) =>
      o.stats.runs.map((r) => ({ workflowId: o.workflowId, runId: r.runId })),
    );
    expect(await replayFailures(await testClient(), runs)).toEqual([]);
  });
});
