// Small obligations for the rollout's tests: units of the shapes the reconciler makes, with only the
// fields the rollout reads filled in meaningfully (kinds, units, groups, edges).
import type { GroupPolicy, RolloutInput, Step } from '../../src/planner';

/** `update`: delete-server → release-quota (waits for admission). `hot_swap`: create-vm first (does not). */
export type UnitShape = 'update' | 'hot_swap';

export interface GroupSpec {
  name: string;
  units: number;
  canaries?: number;
  maxInFlight?: number;
  serial?: boolean;
  shape?: UnitShape;
}

const base = (unit: string, group: string, kind: Step['kind'], id: string, dependsOn: string[]) => ({
  id: `${unit}:${id}`,
  kind,
  instance: unit,
  unit,
  group,
  dependsOn: dependsOn.map((d) => `${unit}:${d}`),
  reasons: ['stemcell 1.181 → 1.182'],
  destructive: kind === 'delete-server',
  summary: `${id} ${unit}`,
});

const quota = { cpus: 1, memory_mb: 512, instances: 1 };

/** The steps of one unit, in topological order. */
export function unitSteps(unit: string, group: string, shape: UnitShape): Step[] {
  const release: Step = {
    ...base(unit, group, 'release-quota', 'release-quota', ['delete-server']),
    kind: 'release-quota',
    allocationId: `alloc-${unit}`,
    serverId: `old-${unit}`,
    quota,
  };
  if (shape === 'update') {
    return [
      {
        ...base(unit, group, 'delete-server', 'delete-server', []),
        kind: 'delete-server',
        serverId: `old-${unit}`,
      },
      release,
    ];
  }
  return [
    {
      ...base(unit, group, 'create-vm', 'create-vm', []),
      kind: 'create-vm',
      claim: unit,
      instanceId: unit,
      pool: 'dev',
      quota,
      spec: {
        name: unit,
        cpus: 1,
        memory_mb: 512,
        disk_gb: 10,
        image: { os: 'ubuntu-jammy', version: '1.182' },
        az: 'z1',
        network: 'default',
        static_ip: null,
        tags: {},
        user_data: null,
      },
    },
    {
      ...base(unit, group, 'associate-vm-to-instance', 'associate-vm-to-instance', ['create-vm']),
      kind: 'associate-vm-to-instance',
      claim: unit,
      instanceId: unit,
      createStep: `${unit}:create-vm`,
      disk: null,
    },
    {
      ...base(unit, group, 'delete-server', 'delete-server', ['associate-vm-to-instance']),
      kind: 'delete-server',
      serverId: `old-${unit}`,
    },
    release,
  ];
}

export function policy(g: GroupSpec): GroupPolicy {
  return {
    name: g.name,
    instances: g.units,
    strategy: g.shape === 'hot_swap' ? 'hot_swap' : 'delete_create',
    strategyExplicit: true,
    canaries: g.canaries ?? 0,
    maxInFlight: g.maxInFlight ?? 1,
    serial: g.serial ?? true,
    migratedFrom: [],
  };
}

/** Units `<group>/<i>` in plan order, then `cleanup` units (no policy), each a delete. */
export function obligationOf(groups: GroupSpec[], cleanup: string[] = []): RolloutInput {
  const steps: Step[] = [];
  const instances: { instance: string }[] = [];
  for (const g of groups) {
    for (let i = 0; i < g.units; i++) {
      const unit = `${g.name}/${i}`;
      instances.push({ instance: unit });
      steps.push(...unitSteps(unit, g.name, g.shape ?? 'update'));
    }
  }
  for (const unit of cleanup) steps.push(...unitSteps(unit, '', 'update'));
  return { steps, groups: groups.map(policy), instances };
}
