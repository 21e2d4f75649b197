// The planner's laws (DESIGN §4), checked over generated deployments with a fixed seed, so every
// failure is reproducible: fast-check prints the seed, path and the shrunk counterexample.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TAG, type Observed, type QuotaAmount } from '../../src/domain/cloud';
import { cloudConfigSchema, type CloudConfigInput } from '../../src/domain/cloud-config';
import { canonicalJson, patent, quotaDelta } from '../../src/planner/index';
import type { Step } from '../../src/planner/types';
import { baseCloud } from '../unit/planner/baseline';
import { enact, randomTopoOrder, Simulator } from '../support/simulator';
import {
  cloud,
  manifestInputArb,
  parseManifest,
  plan,
  scenarioArb,
  SEED,
  type Scenario,
} from './arbitraries';

const RUNS = { seed: SEED, numRuns: 150 };
const RESOURCES = ['cpus', 'memory_mb', 'instances'] as const;

const planOf = (s: Scenario, seq = 2) => plan(s.world, s.next, seq, { recreate: s.recreate });

function held(observed: Observed): QuotaAmount {
  const total = { cpus: 0, memory_mb: 0, instances: 0 };
  for (const a of observed.allocations)
    if (a.tags[TAG.deployment] === 'web') for (const r of RESOURCES) total[r] += a[r];
  return total;
}

/** A random source for topological orders, fed by fast-check (so it shrinks and replays). */
const picker = (draws: number[]) => {
  let i = 0;
  return (n: number) => (draws[i++ % draws.length] ?? 0) % n;
};

describe('law: same input ⇒ byte-identical output', () => {
  it('planning twice, or from a cloud that lists things in another order, prints the same JSON', () => {
    fc.assert(
      fc.property(scenarioArb(), (s) => {
        const once = planOf(s);
        const shuffled = structuredClone(s);
        for (const list of [
          shuffled.world.observed.servers,
          shuffled.world.observed.allocations,
          shuffled.world.observed.volumes,
        ])
          list.reverse();
        shuffled.world.records.reverse();
        expect(canonicalJson(planOf(s))).toBe(canonicalJson(once));
        expect(canonicalJson(planOf(shuffled))).toBe(canonicalJson(once));
      }),
      RUNS,
    );
  });
});

describe('law: reconcile after enacting the obligation is empty', () => {
  it('for any disturbed deployment and any next manifest', () => {
    fc.assert(
      fc.property(scenarioArb(), (s) => {
        const o = planOf(s);
        const after = enact(s.world.observed, o);
        const again = plan(after, s.next, 3);
        expect(again.steps.map((x) => x.id)).toEqual([]);
      }),
      RUNS,
    );
  });

  it('in any topological order of the steps, not only the planned one', () => {
    fc.assert(
      fc.property(scenarioArb(), fc.array(fc.nat(), { minLength: 8, maxLength: 32 }), (s, draws) => {
        const o = planOf(s);
        const after = enact(s.world.observed, o, randomTopoOrder(o.steps, picker(draws)));
        expect(plan(after, s.next, 3).steps).toEqual([]);
      }),
      RUNS,
    );
  });
});

describe('law: at rest, no instance has two VMs and no allocation lacks its server', () => {
  it('after enacting any obligation', () => {
    fc.assert(
      fc.property(scenarioArb(), (s) => {
        const o = planOf(s);
        const { observed, records } = enact(s.world.observed, o);
        for (const r of records) {
          const vms = observed.servers.filter((x) => x.tags[TAG.instance] === r.id);
          expect(vms.length).toBeLessThanOrEqual(1);
          if (r.state === 'detached') expect(vms).toEqual([]);
        }
        const consumed = new Set(observed.servers.map((x) => x.tags[TAG.allocation]));
        expect(observed.allocations.filter((a) => !consumed.has(a.id))).toEqual([]);
        // Every server left is owned by an instance (no leak).
        const ids = new Set(records.map((r) => r.id));
        expect(observed.servers.filter((x) => !ids.has(x.tags[TAG.instance] ?? ''))).toEqual([]);
      }),
      RUNS,
    );
  });
});

describe('law: the quota peak is the worst moment of any schedule', () => {
  /** Brute force: every downward-closed set of steps is a moment some schedule passes through. */
  function bruteForcePeak(start: QuotaAmount, steps: readonly Step[]): QuotaAmount {
    const index = new Map(steps.map((s, i) => [s.id, i]));
    const needs = steps.map((s) => s.dependsOn.reduce((mask, d) => mask | (1 << (index.get(d) ?? 0)), 0));
    const peak = { ...start };
    for (let set = 0; set < 1 << steps.length; set++) {
      if (!needs.every((need, i) => !((set >> i) & 1) || (need & set) === need)) continue;
      const total = { ...start };
      steps.forEach((s, i) => {
        const delta = (set >> i) & 1 ? quotaDelta(s) : null;
        if (delta) for (const r of RESOURCES) total[r] += delta[r];
      });
      for (const r of RESOURCES) peak[r] = Math.max(peak[r], total[r]);
    }
    return peak;
  }

  it('equals the brute-force maximum over all downward-closed step sets (small obligations)', () => {
    let checked = 0;
    fc.assert(
      fc.property(scenarioArb(2), (s) => {
        const o = planOf(s);
        if (o.steps.length > 14) return;
        checked++;
        expect(o.quotaPeak).toEqual(bruteForcePeak(held(s.world.observed), o.steps));
      }),
      { ...RUNS, numRuns: 300 },
    );
    expect(checked).toBeGreaterThan(100);
  });

  it('is never exceeded while enacting in a random topological order', () => {
    fc.assert(
      fc.property(scenarioArb(), fc.array(fc.nat(), { minLength: 8, maxLength: 32 }), (s, draws) => {
        const o = planOf(s);
        const sim = new Simulator(s.world.observed);
        for (const step of randomTopoOrder(o.steps, picker(draws))) {
          sim.apply(step);
          const now = held(sim.snapshot());
          for (const r of RESOURCES) expect(now[r]).toBeLessThanOrEqual(o.quotaPeak[r]);
        }
      }),
      RUNS,
    );
  });
});

describe('law: hot_swap never leaves a started instance without a VM', () => {
  it('in any topological order, every hot-swapped instance keeps a server until its new one is associated', () => {
    fc.assert(
      fc.property(scenarioArb(), fc.array(fc.nat(), { minLength: 8, maxLength: 32 }), (s, draws) => {
        const o = planOf(s);
        const swapped = o.instances
          .filter((p) => p.action === 'replace' && p.strategy === 'hot_swap')
          .map((p) => p.instance.slice(p.instance.indexOf('/') + 1));
        const sim = new Simulator(s.world.observed);
        for (const step of randomTopoOrder(o.steps, picker(draws))) {
          sim.apply(step);
          const servers = sim.snapshot().servers;
          for (const id of swapped) expect(servers.some((x) => x.tags[TAG.instance] === id)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('in the DAG, the old VM’s deletion always depends on the association', () => {
    fc.assert(
      fc.property(scenarioArb(), (s) => {
        const o = planOf(s);
        const byId = new Map(o.steps.map((x) => [x.id, x]));
        const ancestors = (id: string, seen = new Set<string>()): Set<string> => {
          for (const d of byId.get(id)?.dependsOn ?? []) if (!seen.has(d)) ancestors(d, seen.add(d));
          return seen;
        };
        for (const p of o.instances.filter((x) => x.action === 'replace' && x.strategy === 'hot_swap')) {
          const del = o.steps.find(
            (x) => x.unit === p.instance && x.kind === 'delete-server' && x.destructive,
          );
          expect(
            del && [...ancestors(del.id)].some((a) => a === `${p.instance}:associate-vm-to-instance`),
          ).toBe(true);
        }
      }),
      RUNS,
    );
  });
});

describe('law: editing what no claim uses leaves the patent unchanged', () => {
  type CloudEdit = (c: CloudConfigInput, used: { azs: Set<string>; types: Set<string> }) => void;
  const edits: CloudEdit[] = [
    (c) => c.vm_types.push({ name: 'xl', cpus: 32, memory_mb: 65536, disk_gb: 100, cloud_properties: {} }),
    (c) => ((c.vm_sizes ?? {})['huge'] = { cpus: 64, memory_mb: 1, disk_gb: 1 }),
    (c) => c.azs.push({ name: 'z9', cloud_properties: { zone: 'q' } }),
    (c) =>
      c.networks.push({
        name: 'dmz',
        subnets: [{ range: '192.168.0.0/24', gateway: '192.168.0.1', azs: ['z1'] }],
      }),
    (c) => c.disk_types?.push({ name: 'slow', disk_gb: 100, cloud_properties: {} }),
    (c) =>
      c.networks.forEach((n) =>
        n.subnets.forEach((s) =>
          Object.assign(s, {
            gateway: s.gateway.replace(/\.1$/, '.254'),
            dns: ['9.9.9.9'],
            cloud_properties: { vlan: 7 },
          }),
        ),
      ),
    (c) => c.networks.forEach((n) => n.subnets.forEach((s) => (s.reserved = []))),
    (c, used) =>
      c.azs.forEach((az) => !used.azs.has(az.name) && (az.cloud_properties = { zone: 'elsewhere' })),
    (c, used) =>
      (c.vm_types = c.vm_types.map((t) =>
        used.types.has(t.name) ? t : { ...t, cloud_properties: { flavor: 'x' }, cpus: 99 },
      )),
    (c, used) => {
      const sizes = c.vm_sizes ?? {};
      const usedSizes = new Set(c.vm_types.filter((t) => used.types.has(t.name)).map((t) => t.size));
      for (const k of Object.keys(sizes))
        if (!usedSizes.has(k)) sizes[k] = { cpus: 77, memory_mb: 77, disk_gb: 77 };
    },
    (c) => c.disk_types?.forEach((d) => (d.cloud_properties = { pool_type: 'nfs' })),
  ];

  it('for any manifest and any set of such edits', () => {
    fc.assert(
      fc.property(
        manifestInputArb,
        fc.subarray(
          edits.map((_, i) => i),
          { minLength: 1 },
        ),
        (input, chosen) => {
          const m = parseManifest(input);
          const before = patent(m, cloud);
          const used = {
            azs: new Set(before.claims.map((c) => c.az)),
            types: new Set(m.instance_groups.map((g) => g.vm_type)),
          };
          const draft = baseCloud();
          for (const i of chosen) edits[i]?.(draft, used);
          const after = patent(m, cloudConfigSchema.parse(draft));
          // Disk and subnet cloud properties are in the claim (a real cloud needs them: EBS volume type,
          // EC2 subnet id), and with the subnet's the addressing a manual network gives that cloud, but
          // none is in the fingerprint; compare fingerprints and the rest.
          expect(after.claims.map((c) => c.fingerprint)).toEqual(before.claims.map((c) => c.fingerprint));
          const strip = (p: typeof before) =>
            canonicalJson({
              ...p,
              claims: p.claims.map((c) => ({
                ...c,
                persistentDisk: null,
                networks: c.networks.map(({ cloudProperties: _unused, addressing: _alike, ...n }) => n),
              })),
            });
          expect(strip(after)).toBe(strip(before));
        },
      ),
      RUNS,
    );
  });
});
