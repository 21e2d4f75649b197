// The in-memory simulator (test/support/simulator.ts) stands in for the region in the pure planner
// tests; this holds it to the region. One small scenario (a fresh deploy with disks, a delete_create
// stemcell bump, a no-op, a scale-down) is enacted step by step on both: through the real activities
// against a real region, and through the simulator. After each operation both worlds must look the
// same to the planner (ids, addresses and clocks aside), and the next plan made from each must match.
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities';
import type { CreateVmResult } from '../../src/domain/activities';
import { TAG, type Observed } from '../../src/domain/cloud';
import type { InstanceRecord } from '../../src/domain/instance';
import type { Manifest } from '../../src/domain/manifest';
import { embodiment, patent, placementsFor, reconcile } from '../../src/planner';
import type { Obligation } from '../../src/planner/types';
import { cloudConfig, group, smallManifest } from '../support/fixtures';
import { observeDeployment } from '../support/invariants';
import { regionForFile } from '../support/region';
import { emptyObserved, Simulator } from '../support/simulator';
import { regionConfig, runActivity } from './harness';

const region = regionForFile({
  config: {
    ...regionConfig([{ name: 'nfs', type: 'nfs', can_create: true, capacity_gb: 1000 }]),
    // The cloud config's subnet (examples/cloud-config.yml): a create takes its dynamic address there.
    networks: [
      {
        name: 'default',
        subnets: [{ range: '10.0.0.0/24', gateway: '10.0.0.1', static: ['10.0.0.10-10.0.0.30'] }],
      },
    ],
    images: [
      { os: 'ubuntu-jammy', version: '1.181' },
      { os: 'ubuntu-jammy', version: '1.182' },
    ],
  },
  faults: { build_ms: 0, delete_ms: 0 },
});

const D = 'parity';
const cc = cloudConfig();

function plan(m: Manifest, observed: Observed, records: readonly InstanceRecord[], seq: number): Obligation {
  const options = { defaultStrategy: 'delete_create' as const, operationSeq: seq, operationId: `op-${seq}` };
  return reconcile(
    patent(m, cc, placementsFor(m, records), options),
    embodiment(D, observed, records),
    options,
  );
}

/** Runs the obligation's steps in order through the real activities, as the enactor would. */
async function onRegion(ob: Obligation, operation: string): Promise<Observed> {
  const acts = createActivities(region.client, { pollMs: 10, heartbeatEveryMs: 0 });
  const made = new Map<string, CreateVmResult>();
  for (const step of ob.steps) {
    switch (step.kind) {
      case 'create-vm': {
        const input = {
          deployment: D,
          operation,
          claim: step.claim,
          pool: step.pool,
          quota: step.quota,
          spec: step.spec,
          buildDeadlineMs: 60_000,
        };
        made.set(step.id, (await runActivity(acts.createVm, [input])).value);
        break;
      }
      case 'associate-vm-to-instance': {
        const serverId = step.existingServer ?? made.get(step.createStep ?? '')?.serverId ?? '?';
        const input = { deployment: D, serverId, instanceId: step.instanceId, disk: step.disk };
        await runActivity(acts.associateVmToInstance, [input]);
        break;
      }
      case 'delete-server':
        await runActivity(acts.deleteServer, [{ serverId: step.serverId }]);
        break;
      case 'release-quota':
        await runActivity(acts.releaseQuota, [{ allocationId: step.allocationId, serverId: step.serverId }]);
        break;
      case 'detach-disk':
        await runActivity(acts.detachDisk, [{ volumeId: step.volumeId, serverId: step.serverId }]);
        break;
      case 'delete-disk':
        await runActivity(acts.deleteDisk, [{ volumeId: step.volumeId }]);
        break;
    }
  }
  return observeDeployment(region.client, D);
}

function onSimulator(observed: Observed, ob: Obligation, operation: string): Observed {
  const sim = new Simulator(observed, 'sim', operation);
  for (const step of ob.steps) sim.apply(step);
  return sim.snapshot();
}

/** Each id named by what it is (server and allocation by claim and operation, volume by instance). */
function symbols(o: Observed): Map<string, string> {
  const names = new Map<string, string>();
  for (const s of o.servers) {
    const who = `${s.tags[TAG.claim] ?? '?'}@${s.tags[TAG.operation] ?? '?'}`;
    names.set(s.id, `server(${who})`);
    const alloc = s.tags[TAG.allocation];
    if (alloc !== undefined) names.set(alloc, `allocation(${who})`);
  }
  for (const a of o.allocations)
    if (!names.has(a.id)) names.set(a.id, `allocation(${a.tags[TAG.claim] ?? '?'}, no server)`);
  for (const v of o.volumes) names.set(v.id, `volume(${v.tags[TAG.instance] ?? '?'})`);
  return names;
}

function renamed<T>(value: T, names: Map<string, string>): T {
  let text = JSON.stringify(value);
  for (const [id, name] of names) text = text.split(id).join(name);
  return JSON.parse(text) as T;
}

/** What the planner reads, with ids named and the region's own choices (addresses, clocks, pools, keys) left out. */
function view(o: Observed): unknown {
  const names = symbols(o);
  // Named first, then sorted by name: the order must not depend on the ids either world gave out.
  const byName = <T extends { id: string }>(xs: T[]): T[] =>
    renamed(xs, names).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return renamed(
    {
      servers: byName(
        o.servers.map((s) => ({
          id: s.id,
          name: s.name,
          state: s.state,
          power: s.power,
          health: s.health,
          az: s.az,
          image: s.image,
          size: [s.cpus, s.memory_mb, s.disk_gb],
          networks: s.addresses.map((a) => a.network),
          tags: s.tags,
        })),
      ),
      allocations: byName(
        o.allocations.map((a) => ({
          id: a.id,
          pool: a.pool,
          quota: [a.cpus, a.memory_mb, a.instances],
          tags: a.tags,
        })),
      ),
      volumes: byName(
        o.volumes.map((v) => ({ id: v.id, size_gb: v.size_gb, tags: v.tags, server_id: v.server_id })),
      ),
    },
    names,
  );
}

describe('the simulator behaves as the region for the planner', () => {
  it('a fresh deploy with disks, a delete_create stemcell bump, a no-op and a scale-down', async () => {
    const v1 = smallManifest(D, (m) => {
      m.update.vm_strategy = 'delete_create';
    });
    const v2 = smallManifest(D, (m) => {
      m.update.vm_strategy = 'delete_create';
      m.stemcells[0]!.version = '1.182';
    });
    const v3 = smallManifest(D, (m) => {
      m.update.vm_strategy = 'delete_create';
      m.stemcells[0]!.version = '1.182';
      group(m, 'api').instances = 2;
      group(m, 'worker').instances = 1;
    });

    let real = emptyObserved();
    let simulated = emptyObserved();
    let records: InstanceRecord[] = [];
    const kinds: string[][] = [];
    for (const [i, m] of [v1, v2, v2, v3].entries()) {
      const seq = i + 1;
      const fromReal = plan(m, real, records, seq);
      const fromSim = plan(m, simulated, records, seq);
      // The same plan from both worlds (ids named by what they are).
      expect(renamed(fromSim, symbols(simulated)), `plan of op-${seq}`).toEqual(
        renamed(fromReal, symbols(real)),
      );
      kinds.push([...new Set(fromReal.steps.map((s) => s.kind))].sort());
      real = await onRegion(fromReal, `op-${seq}`);
      simulated = onSimulator(simulated, fromSim, `op-${seq}`);
      records = fromReal.records;
      expect(view(simulated), `after op-${seq}`).toEqual(view(real));
    }
    // The scenario really exercised every kind of step, and the no-op planned nothing.
    expect(kinds[2]).toEqual([]);
    expect(new Set(kinds.flat())).toEqual(
      new Set([
        'create-vm',
        'associate-vm-to-instance',
        'detach-disk',
        'delete-server',
        'release-quota',
        'delete-disk',
      ]),
    );
  });
});
