// Generators for planner laws: small deployments, worlds deployed from them and then disturbed
// (lost, failed, duplicated, orphaned, half-deleted servers; stray allocations and volumes; stopped
// and detached instances), and a next manifest to plan towards. Small on purpose: laws that hold
// for every small case are checked exhaustively where they can be (the quota peak).
import fc from 'fast-check';
import { TAG, type Server } from '../../src/domain/cloud';
import { cloudConfigSchema, type CloudConfig } from '../../src/domain/cloud-config';
import { manifestSchema, type Manifest, type ManifestInput } from '../../src/domain/manifest';
import { embodiment, patent, placementsFor, reconcile } from '../../src/planner/index';
import type { Obligation, ReconcileOptions } from '../../src/planner/types';
import { baseCloud } from '../unit/planner/baseline';
import { emptyObserved, enact, type World } from '../support/simulator';

export const SEED = 20_240_611;
export const cloud: CloudConfig = cloudConfigSchema.parse(baseCloud());

type GroupInput = ManifestInput['instance_groups'][number];
const NAMES = ['api', 'worker', 'db', 'cache'] as const;
const AZS = ['z1', 'z2', 'z3'] as const;

const groupArb = (name: string, slot: number): fc.Arbitrary<GroupInput> =>
  fc
    .record({
      instances: fc.integer({ min: 0, max: 4 }),
      azs: fc.shuffledSubarray([...AZS], { minLength: 1 }),
      vm_type: fc.constantFrom('small', 'medium', 'large'),
      stemcell: fc.constantFrom('default', 'next'),
      network: fc.constantFrom('default', 'backend', 'both', 'static'),
      disk: fc.constantFrom('none', 'size', 'type'),
      env: fc.constantFrom({}, { a: 1 }, { a: 2 }),
      strategy: fc.constantFrom(undefined, 'hot_swap' as const, 'delete_create' as const),
    })
    .map((g) => {
      const canStatic = g.azs.some((az) => az !== 'z3');
      // Static IPs from a range per group slot, so groups never share one.
      const ips = Array.from({ length: g.instances }, (_, i) => `10.0.0.${10 + slot * 5 + i}`);
      const networks =
        g.network === 'both'
          ? [{ name: 'default' }, { name: 'backend' }]
          : g.network === 'static' && canStatic && g.instances > 0
            ? [{ name: 'default', static_ips: ips }]
            : [{ name: g.network === 'backend' ? 'backend' : 'default' }];
      const azs = g.network === 'static' && canStatic ? g.azs.filter((az) => az !== 'z3') : g.azs;
      return {
        name,
        instances: g.instances,
        azs,
        vm_type: g.vm_type,
        stemcell: g.stemcell,
        networks,
        env: g.env,
        ...(g.disk === 'size'
          ? { persistent_disk: 10 }
          : g.disk === 'type'
            ? { persistent_disk_type: 'fast' }
            : {}),
        ...(g.strategy ? { update: { vm_strategy: g.strategy } } : {}),
      };
    });

const manifestOf = (
  groups: GroupInput[],
  strategy: 'hot_swap' | 'delete_create' | undefined,
): ManifestInput => ({
  name: 'web',
  resource_pool: 'dev',
  stemcells: [
    { alias: 'default', os: 'ubuntu-jammy', version: '1.181' },
    { alias: 'next', os: 'ubuntu-jammy', version: '1.182' },
  ],
  update: { canaries: 1, max_in_flight: 2, serial: true, ...(strategy ? { vm_strategy: strategy } : {}) },
  instance_groups: groups,
});

export const manifestInputArb: fc.Arbitrary<ManifestInput> = fc
  .record({
    names: fc.shuffledSubarray([...NAMES], { minLength: 1, maxLength: 3 }),
    strategy: fc.constantFrom(undefined, 'hot_swap' as const, 'delete_create' as const),
  })
  .chain(({ names, strategy }) =>
    fc.tuple(...names.map((n) => groupArb(n, NAMES.indexOf(n)))).map((gs) => manifestOf(gs, strategy)),
  );

/** The next manifest: the same, a small edit of it, or another one (renames with migrated_from too). */
export const nextManifestArb = (from: ManifestInput): fc.Arbitrary<ManifestInput> =>
  fc.oneof(
    fc.constant(from),
    fc
      .record({
        g: fc.nat(),
        edit: fc.constantFrom(
          'stemcell',
          'vm_type',
          'scale-up',
          'scale-down',
          'env',
          'azs',
          'strategy',
          'rename',
          'rename-migrated',
        ),
      })
      .map(({ g, edit }) => {
        const m = structuredClone(from);
        const group = m.instance_groups[g % m.instance_groups.length];
        if (!group) return m;
        const free = NAMES.find((n) => !m.instance_groups.some((x) => x.name === n));
        switch (edit) {
          case 'stemcell':
            group.stemcell = group.stemcell === 'next' ? 'default' : 'next';
            break;
          case 'vm_type':
            group.vm_type = group.vm_type === 'small' ? 'medium' : 'small';
            break;
          case 'scale-up':
            if (!group.networks.some((n) => n.static_ips)) group.instances += 2;
            break;
          case 'scale-down':
            group.instances = Math.max(0, group.instances - 2);
            for (const n of group.networks)
              if (n.static_ips) n.static_ips = n.static_ips.slice(0, group.instances);
            if (group.instances === 0) group.networks = [{ name: 'default' }];
            break;
          case 'env':
            group.env = { changed: true };
            break;
          case 'azs':
            if (!group.networks.some((n) => n.static_ips))
              group.azs = group.azs.length > 1 ? group.azs.slice(1) : ['z3'];
            break;
          case 'strategy':
            group.update = {
              vm_strategy: group.update?.vm_strategy === 'hot_swap' ? 'delete_create' : 'hot_swap',
            };
            break;
          case 'rename':
          case 'rename-migrated':
            if (free) {
              if (edit === 'rename-migrated') group.migrated_from = [{ name: group.name }];
              group.name = free;
            }
            break;
        }
        return m;
      }),
    manifestInputArb,
  );

export const parseManifest = (m: ManifestInput): Manifest => manifestSchema.parse(m);

/** The options the workflow plans with. */
export function options(seq: number, extra: Partial<ReconcileOptions> = {}): ReconcileOptions {
  return {
    defaultStrategy: 'hot_swap',
    operationSeq: seq,
    operationId: `op-${seq}`,
    ...extra,
  };
}

export function plan(
  world: World,
  m: Manifest,
  seq: number,
  extra: Partial<ReconcileOptions> = {},
): Obligation {
  const o = options(seq, extra);
  const p = patent(m, cloud, placementsFor(m, world.records), { defaultStrategy: o.defaultStrategy });
  return reconcile(p, embodiment(m.name, world.observed, world.records), o);
}

export function deploy(m: Manifest): World {
  const o = plan({ observed: emptyObserved(), records: [] }, m, 1);
  return enact(emptyObserved(), o);
}

// -- disturbances -------------------------------------------------------------------------------

export type Disturbance =
  | { kind: 'lose-server'; at: number; stale: boolean }
  | { kind: 'server-state'; at: number; state: Server['state'] }
  | { kind: 'twin'; at: number; state: Server['state']; newer: boolean; shared: boolean }
  | { kind: 'orphan'; at: number; allocation: 'own' | 'none' | 'shared'; state: Server['state'] }
  | { kind: 'stray-allocation' }
  | { kind: 'stray-volume'; attachToOrphan: boolean }
  | { kind: 'record-state'; at: number; state: 'stopped' | 'detached' }
  | { kind: 'drop-spec-tag'; at: number };

const states = fc.constantFrom<Server['state']>('ACTIVE', 'ERROR', 'BUILD', 'DELETING', 'SHUTOFF');

export const disturbanceArb: fc.Arbitrary<Disturbance> = fc.oneof(
  fc.record({ kind: fc.constant('lose-server' as const), at: fc.nat(), stale: fc.boolean() }),
  fc.record({ kind: fc.constant('server-state' as const), at: fc.nat(), state: states }),
  // shared: the twin holds the same allocation, as a create retried after an ERROR build leaves it.
  fc.record({
    kind: fc.constant('twin' as const),
    at: fc.nat(),
    state: states,
    newer: fc.boolean(),
    shared: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('orphan' as const),
    at: fc.nat(),
    allocation: fc.constantFrom('own' as const, 'none' as const, 'shared' as const),
    state: states,
  }),
  fc.constant({ kind: 'stray-allocation' as const }),
  fc.record({ kind: fc.constant('stray-volume' as const), attachToOrphan: fc.boolean() }),
  fc.record({
    kind: fc.constant('record-state' as const),
    at: fc.nat(),
    state: fc.constantFrom('stopped' as const, 'detached' as const),
  }),
  fc.record({ kind: fc.constant('drop-spec-tag' as const), at: fc.nat() }),
);

/** Apply disturbances to a deployed world (ids `d-<n>` never collide with the simulator's). */
export function disturb(world: World, disturbances: readonly Disturbance[]): World {
  const w = structuredClone(world);
  const o = w.observed;
  let n = 0;
  const id = (kind: string): string => `d-${kind}-${++n}`;
  const pick = <T>(list: T[], at: number): T | undefined => list[at % Math.max(1, list.length)];
  const newAllocation = (s: Server): string => {
    const a = id('a');
    o.allocations.push({
      id: a,
      pool: 'dev',
      key: a,
      cpus: s.cpus,
      memory_mb: s.memory_mb,
      instances: 1,
      tags: { [TAG.deployment]: 'web' },
    });
    return a;
  };
  for (const d of disturbances) {
    switch (d.kind) {
      case 'lose-server': {
        const s = pick(o.servers, d.at);
        if (!s) break;
        o.servers = o.servers.filter((x) => x !== s);
        if (!d.stale) for (const v of o.volumes) if (v.server_id === s.id) v.server_id = null;
        break;
      }
      case 'server-state': {
        const s = pick(o.servers, d.at);
        if (s) s.state = d.state;
        break;
      }
      case 'twin': {
        const s = pick(o.servers, d.at);
        if (!s) break;
        const twin = structuredClone(s);
        twin.id = id('s');
        twin.state = d.state;
        twin.created_at = d.newer ? '2031-01-01T00:00:00.000Z' : '2029-01-01T00:00:00.000Z';
        if (!d.shared) twin.tags[TAG.allocation] = newAllocation(twin);
        o.servers.push(twin);
        break;
      }
      case 'orphan': {
        const s = pick(o.servers, d.at);
        if (!s) break;
        const orphan = structuredClone(s);
        orphan.id = id('s');
        orphan.state = d.state;
        delete orphan.tags[TAG.instance];
        if (d.allocation === 'own') orphan.tags[TAG.allocation] = newAllocation(orphan);
        else if (d.allocation === 'none') delete orphan.tags[TAG.allocation];
        o.servers.push(orphan);
        break;
      }
      case 'stray-allocation':
        o.allocations.push({
          id: id('a'),
          pool: 'dev',
          key: 'k',
          cpus: 1,
          memory_mb: 512,
          instances: 1,
          tags: { [TAG.deployment]: 'web' },
        });
        break;
      case 'stray-volume': {
        const orphan = d.attachToOrphan
          ? o.servers.find((s) => s.tags[TAG.instance] === undefined)
          : undefined;
        o.volumes.push({
          id: id('v'),
          pool: 'p',
          size_gb: 1,
          server_id: orphan?.id ?? null,
          tags: { [TAG.deployment]: 'web', [TAG.instance]: 'gone' },
        });
        break;
      }
      case 'record-state': {
        const r = pick(w.records, d.at);
        if (r) r.state = d.state;
        break;
      }
      case 'drop-spec-tag': {
        const s = pick(o.servers, d.at);
        if (s) delete s.tags['converge.spec'];
        break;
      }
    }
  }
  return w;
}

/** A scenario: a deployed, disturbed world and the manifest to plan towards. */
export interface Scenario {
  world: World;
  next: Manifest;
  recreate: boolean;
}

export const scenarioArb = (maxDisturbances = 4): fc.Arbitrary<Scenario> =>
  manifestInputArb.chain((first) =>
    fc
      .record({
        first: fc.constant(first),
        next: nextManifestArb(first),
        disturbances: fc.array(disturbanceArb, { maxLength: maxDisturbances }),
        recreate: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      })
      .map(({ first: f, next, disturbances, recreate }) => ({
        world: disturb(deploy(parseManifest(f)), disturbances),
        next: parseManifest(next),
        recreate,
      })),
  );
