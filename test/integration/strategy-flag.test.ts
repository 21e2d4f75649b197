// Heat's two code paths (seed 003, DESIGN §5): the new update path (hot_swap) stays behind a flag that
// is off by default. A worker started with CONVERGE_DEFAULT_VM_STRATEGY=hot_swap makes it the default
// for groups whose manifest chooses none; each operation reads the default once, records it in its
// history, and finishes on it even when the worker that carries on has another default. Only a NEW
// operation takes the new default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegionEvent } from '../../src/cloud/port';
import { Deployments } from '../../src/client/deployments';
import { TAG } from '../../src/domain/cloud';
import type { Manifest } from '../../src/domain/manifest';
import type { OperationTicket } from '../../src/workflows/types';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { checkInvariants, lastEventSeq } from '../support/invariants';
import { startRegion, type StartedRegion } from '../support/region';
import { closeTestConnections, createTestWorker, taskQueueFor, testClient } from '../support/temporal';
import { untilEnacting } from '../support/progress';

const NAME = 'flagged';
const cc = cloudConfig();
let region: StartedRegion;

beforeAll(async () => {
  region = await startRegion({ faults: { build_ms: 30, delete_ms: 30 } });
});
afterAll(async () => {
  await region?.stop();
  await closeTestConnections();
});

/** A manifest that chooses no strategy anywhere, so the worker's default decides. */
function unflagged(change: (m: Manifest) => void = () => undefined): Manifest {
  return smallManifest(NAME, (m) => {
    delete m.update.vm_strategy;
    for (const g of m.instance_groups) if (g.update) delete g.update.vm_strategy;
    m.update.max_in_flight = 1;
    change(m);
  });
}

const stemcell = (version: string) => (m: Manifest) => {
  const s = m.stemcells[0];
  if (s) s.version = version;
};

async function eventsSince(seq: number): Promise<RegionEvent[]> {
  return (await region.client.events(seq)).filter((e) => e.tags[TAG.deployment] === NAME);
}

function firstSeq(events: RegionEvent[], type: string, subject: string | null | undefined): number {
  return events.find((e) => e.type === type && e.subject === subject)?.seq ?? Number.POSITIVE_INFINITY;
}

describe('CONVERGE_DEFAULT_VM_STRATEGY, pinned per operation', () => {
  it('an operation started under hot_swap finishes hot_swap on a delete_create worker; the next operation is delete_create', async () => {
    const taskQueue = taskQueueFor('strategy flag');
    // A low history threshold makes the operation continue as new after the switch, so the pinned
    // strategy must also survive the resume path (it travels in the continue-as-new input).
    const d = new Deployments(await testClient(), {
      taskQueue,
      limits: { buildDeadlineMs: 60_000, historyThreshold: 40 },
    });

    // 1. A worker with the flag on deploys, then starts a stemcell bump.
    const flagged = await createTestWorker({
      taskQueue,
      cloud: region.client,
      env: { CONVERGE_DEFAULT_VM_STRATEGY: 'hot_swap' },
    });
    const flaggedRun = flagged.run();
    let ticket: OperationTicket;
    let oldVm: Map<string, string | null>;
    let before: number;
    try {
      const first = await d.wait(await d.deploy(NAME, { manifest: unflagged(), cloudConfig: cc }));
      expect(first.status, JSON.stringify(first.failure)).toBe('converged');
      oldVm = new Map(first.projection.map((row) => [row.instance, row.vm]));
      before = await lastEventSeq(region.client);

      await region.client.setFaults({ build_ms: 1500, delete_ms: 300 });
      ticket = await d.deploy(NAME, { manifest: unflagged(stemcell('1.182')), cloudConfig: cc });
      await untilEnacting(d, ticket);
      const mid = await d.progress(ticket);
      expect(mid.stepsDone).toBeLessThan(mid.stepsTotal);
    } finally {
      // 2. That worker goes away mid-operation (its in-flight activities finish or are retried).
      flagged.shutdown();
      await flaggedRun;
    }
    const switchedAt = await lastEventSeq(region.client);

    // 3. A worker with the flag off (the default) carries the operation on, and runs the next one.
    const unflaggedWorker = await createTestWorker({ taskQueue, cloud: region.client, env: {} });
    await unflaggedWorker.runUntil(async () => {
      const bumped = await d.wait(ticket);
      expect(bumped.status, JSON.stringify(bumped.failure)).toBe('converged');
      expect(bumped.strategy).toBe('hot_swap');
      expect(bumped.continuedAsNew).toBeGreaterThan(0);
      expect(bumped.summary.replace).toBe(5);
      expect(bumped.instances.every((i) => i.strategy === 'hot_swap')).toBe(true);
      const events = await eventsSince(before);
      // The second worker did part of the work...
      expect(events.filter((e) => e.seq > switchedAt).length).toBeGreaterThan(0);
      // ...and it was still hot_swap: each new VM ACTIVE before its old VM is deleted.
      for (const row of bumped.projection) {
        const newActive = firstSeq(events, 'server.active', row.vm);
        const oldDeleting = firstSeq(events, 'server.deleting', oldVm.get(row.instance));
        expect(newActive, row.instance).toBeLessThan(oldDeleting);
        expect(oldDeleting, row.instance).toBeLessThan(Number.POSITIVE_INFINITY);
      }
      const report = await checkInvariants({
        cloud: region.client,
        deployment: NAME,
        records: bumped.records,
        sinceSeq: before,
      });
      expect(report.violations, report.violations.join('\n')).toEqual([]);

      // 4. A new operation reads the new worker's default: delete_create.
      await region.client.setFaults({ build_ms: 30, delete_ms: 30 });
      const again = await lastEventSeq(region.client);
      const previous = new Map(bumped.projection.map((row) => [row.instance, row.vm]));
      const next = await d.wait(
        await d.deploy(NAME, { manifest: unflagged(stemcell('1.181')), cloudConfig: cc }),
      );
      expect(next.status, JSON.stringify(next.failure)).toBe('converged');
      expect(next.strategy).toBe('delete_create');
      expect(next.instances.every((i) => i.strategy === 'delete_create')).toBe(true);
      const later = await eventsSince(again);
      for (const row of next.projection) {
        const oldGone = firstSeq(later, 'server.deleted', previous.get(row.instance));
        const newCreated = firstSeq(later, 'server.created', row.vm);
        expect(oldGone, row.instance).toBeLessThan(newCreated);
      }
    });
  });
});
