// Power as steps of the obligation (src/planner/power.ts): a soft stop's power-off, a start's power-on,
// an instance action's power-off, power-on or reboot, with their reasons, codes, records and order.
import { describe, expect, it } from 'vitest';
import { TAG } from '../../../src/domain/cloud';
import {
  POWER_REASON,
  powerFor,
  reasonCode,
  Rollout,
  type PoweredInstance,
} from '../../../src/planner/index';
import type { Obligation, PowerIntent, PowerStep } from '../../../src/planner/types';
import { enact, type World } from '../../support/simulator';
import { cloudWith, deployed, group, instanceOf, manifestWith, plan, recordOf } from './baseline';

const running = { power: 'running' } as const;
const off = { power: 'stopped' } as const;
const names = ['api/u-0', 'api/0'];

describe('powerFor: the worked examples of power.ts', () => {
  const row = (
    intent: PowerIntent,
    state: PoweredInstance['state'],
    vm: PoweredInstance['vm'],
    newVm = false,
  ): ReturnType<typeof powerFor> => powerFor(intent, { state, names, vm, newVm });

  it.each([
    ['stop, stopped, running', row({ kind: 'stop' }, 'stopped', running), 'power-off', POWER_REASON.stop],
    ['stop, stopped, already off', row({ kind: 'stop' }, 'stopped', off), null, null],
    ['stop, started (not selected)', row({ kind: 'stop' }, 'started', running), null, null],
    ['stop, stopped, no VM', row({ kind: 'stop' }, 'stopped', null), null, null],
    ['start, started, kept off', row({ kind: 'start' }, 'started', off), 'power-on', POWER_REASON.start],
    ['start, started, replaced', row({ kind: 'start' }, 'started', off, true), null, null],
    ['start, started, already on', row({ kind: 'start' }, 'started', running), null, null],
    ['start, still stopped (not selected)', row({ kind: 'start' }, 'stopped', off), null, null],
  ])('%s', (_name, need, kind, reason) => {
    expect(need?.kind ?? null).toBe(kind);
    expect(need?.reason ?? null).toBe(reason);
    expect(need?.state ?? null).toBe(null);
  });

  it.each([
    ['reboot', 'api/0', 'reboot', null],
    ['stop', 'api/u-0', 'power-off', 'stopped'],
    ['start', 'api/0', 'power-on', 'started'],
  ] as const)('an instance action %s on %s: %s, the record becomes %s', (action, instance, kind, state) => {
    const need = row({ kind: 'action', instance, action }, 'started', running);
    expect(need).toEqual({ kind, reason: `${action}: requested by instance-action ${instance}`, state });
  });

  it('an instance action acts even when the VM already shows the result (the activity is idempotent)', () => {
    expect(row({ kind: 'action', instance: 'api/0', action: 'stop' }, 'started', off)?.kind).toBe(
      'power-off',
    );
  });

  it('an instance action acts on a new VM the plan makes, and on no instance without a VM or another name', () => {
    expect(row({ kind: 'action', instance: 'api/0', action: 'start' }, 'started', null, true)?.kind).toBe(
      'power-on',
    );
    expect(row({ kind: 'action', instance: 'api/0', action: 'start' }, 'detached', null)).toBeNull();
    expect(row({ kind: 'action', instance: 'api/1', action: 'reboot' }, 'started', running)).toBeNull();
  });

  it('no intent, no power (deploy, recreate, delete, the verifying re-plan)', () => {
    expect(powerFor(undefined, { state: 'stopped', names, vm: running, newVm: false })).toBeNull();
  });
});

describe('reason codes of power', () => {
  it.each([
    [POWER_REASON.stop, 'power_off'],
    [POWER_REASON.start, 'power_on'],
    [POWER_REASON.action('stop', 'api/0'), 'power_off'],
    [POWER_REASON.action('start', 'api/0'), 'power_on'],
    [POWER_REASON.action('reboot', 'api/0'), 'reboot'],
  ])('%s → %s', (reason, code) => {
    expect(reasonCode(reason)).toBe(code);
  });
});

const m = manifestWith();
const cc = cloudWith();
const powerSteps = (o: Obligation): PowerStep[] =>
  o.steps.filter(
    (s): s is PowerStep => s.kind === 'power-off' || s.kind === 'power-on' || s.kind === 'reboot',
  );

/** The world as the operation plans it for a soft stop: every record stopped (records.ts recordsFor). */
function stoppedRecords(world: World): World {
  return { ...world, records: world.records.map((r) => ({ ...r, state: 'stopped' as const })) };
}

describe('reconcile: a soft stop', () => {
  it('powers off every stopped instance whose VM runs: one step each, a unit of its group, nothing else', () => {
    const world = stoppedRecords(deployed());
    const o = plan(world, m, cc, { power: { kind: 'stop' } });
    expect(o.steps.map((s) => s.kind)).toEqual(world.records.map(() => 'power-off'));
    for (const r of world.records) {
      const server = world.observed.servers.find((s) => s.tags[TAG.instance] === r.id);
      const step = o.steps.find((s) => s.instance === `${r.group}/${r.id}`);
      expect(step).toMatchObject({
        id: `${r.group}/${r.id}:power-off`,
        unit: `${r.group}/${r.id}`,
        group: r.group,
        dependsOn: [],
        reasons: [POWER_REASON.stop],
        destructive: false,
        serverId: server?.id,
        createStep: null,
        summary: `power-off ${server?.id ?? ''} ${r.group}/${r.index}`,
      });
    }
    expect(instanceOf(o, 'api/0')).toMatchObject({ action: 'keep', reasons: [POWER_REASON.stop] });
    expect(o.records.every((r) => r.state === 'stopped')).toBe(true);
    expect(o.quotaPeak).toEqual(plan(world, m, cc).quotaPeak);
  });

  it('is the same plan without power when asked for none (the verifying re-plan); enacted, it is converged', () => {
    const world = stoppedRecords(deployed());
    expect(plan(world, m, cc).steps).toEqual([]);
    const o = plan(world, m, cc, { power: { kind: 'stop' } });
    const after = enact(world.observed, o);
    expect(after.observed.servers.map((s) => s.power)).toEqual(after.observed.servers.map(() => 'stopped'));
    expect(plan(after, m, cc, { power: { kind: 'stop' } }).steps).toEqual([]);
  });

  it('leaves started instances (a stop of some) and VMs already off alone', () => {
    const world = deployed();
    const api0 = recordOf(world, 'api/0');
    const api1 = recordOf(world, 'api/1');
    api0.state = 'stopped';
    api1.state = 'stopped';
    const vm1 = world.observed.servers.find((s) => s.tags[TAG.instance] === api1.id);
    if (vm1) Object.assign(vm1, { power: 'stopped', state: 'SHUTOFF' });
    const o = plan(world, m, cc, { power: { kind: 'stop' } });
    expect(o.steps.map((s) => s.id)).toEqual([`api/${api0.id}:power-off`]);
  });
});

describe('the rollout of power steps', () => {
  it('paces a stop like an update: the canary, then max_in_flight, then the next serial group', () => {
    const world = stoppedRecords(deployed());
    const o = plan(world, m, cc, { power: { kind: 'stop' } });
    expect(o.groups.map((g) => [g.name, g.canaries, g.maxInFlight, g.serial])).toEqual([
      ['api', 1, 2, true],
      ['worker', 1, 2, true],
      ['db', 1, 2, true],
    ]);
    const rollout = new Rollout(o, new Set());
    const waves: string[][] = [];
    for (let wave = rollout.next(); wave.length > 0; wave = rollout.next()) {
      waves.push(wave.map((s) => s.instance.split('/')[0] ?? ''));
      rollout.completed(wave);
    }
    // api: its canary alone, then its other two together (max_in_flight 2); worker's canary, then its
    // last; then db's one.
    expect(waves).toEqual([['api'], ['api', 'api'], ['worker'], ['worker'], ['db']]);
  });

  it('stops the group at a failed canary power-off: nothing more of it starts', () => {
    const world = stoppedRecords(deployed());
    const o = plan(world, m, cc, { power: { kind: 'stop' } });
    const rollout = new Rollout(o, new Set());
    const [canary] = rollout.next();
    if (!canary) throw new Error('no canary');
    rollout.failed(canary);
    expect(rollout.next()).toEqual([]);
  });

  it('starts no power step once cancelled: those not started are just not done', () => {
    const world = stoppedRecords(deployed());
    const o = plan(world, m, cc, { power: { kind: 'stop' } });
    const rollout = new Rollout(o, new Set());
    rollout.cancel();
    expect(rollout.next()).toEqual([]);
  });
});

describe('reconcile: a start', () => {
  /** Deployed, soft-stopped and enacted; then the records started again, as start plans them. */
  function afterStop(): World {
    const stopped = stoppedRecords(deployed());
    const off = enact(stopped.observed, plan(stopped, m, cc, { power: { kind: 'stop' } }));
    return { observed: off.observed, records: off.records.map((r) => ({ ...r, state: 'started' as const })) };
  }

  it('powers on every started instance whose kept VM is off', () => {
    const world = afterStop();
    const o = plan(world, m, cc, { power: { kind: 'start' } });
    expect(o.steps.map((s) => s.kind)).toEqual(world.records.map(() => 'power-on'));
    expect(new Set(o.steps.flatMap((s) => s.reasons))).toEqual(new Set([POWER_REASON.start]));
    const on = enact(world.observed, o);
    expect(on.observed.servers.every((s) => s.power === 'running' && s.state === 'ACTIVE')).toBe(true);
    expect(plan(on, m, cc, { power: { kind: 'start' } }).steps).toEqual([]);
  });

  it('powers on no VM the plan replaces: the new one boots running', () => {
    const world = afterStop();
    const bumped = manifestWith((x) => (group(x, 'api').stemcell = 'next'));
    const o = plan(world, bumped, cc, { power: { kind: 'start' } });
    const api = world.records.filter((r) => r.group === 'api').map((r) => `api/${r.id}`);
    expect(powerSteps(o).filter((s) => api.includes(s.instance))).toEqual([]);
    expect(powerSteps(o).map((s) => s.kind)).toEqual(['power-on', 'power-on', 'power-on']);
  });
});

describe('reconcile: an instance action', () => {
  it('reboots the instance named by index, keeping its record; nothing else', () => {
    const world = deployed();
    const r = recordOf(world, 'api/1');
    const o = plan(world, m, cc, { power: { kind: 'action', instance: 'api/1', action: 'reboot' } });
    expect(o.steps.map((s) => [s.id, s.reasons])).toEqual([
      [`api/${r.id}:reboot`, ['reboot: requested by instance-action api/1']],
    ]);
    expect(o.records).toEqual(world.records);
  });

  it('stop and start set the record state of the instance named by uuid', () => {
    const world = deployed();
    const r = recordOf(world, 'worker/0');
    const stop = plan(world, m, cc, {
      power: { kind: 'action', instance: `worker/${r.id}`, action: 'stop' },
    });
    expect(stop.steps.map((s) => s.kind)).toEqual(['power-off']);
    expect(stop.records.find((x) => x.id === r.id)?.state).toBe('stopped');
    expect(stop.records.filter((x) => x.id !== r.id).every((x) => x.state === 'started')).toBe(true);
    const back = {
      ...world,
      records: world.records.map((x) => (x.id === r.id ? { ...x, state: 'stopped' as const } : x)),
    };
    const start = plan(back, m, cc, { power: { kind: 'action', instance: 'worker/0', action: 'start' } });
    expect(start.steps.map((s) => s.kind)).toEqual(['power-on']);
    expect(start.records.find((x) => x.id === r.id)?.state).toBe('started');
  });

  it('plans nothing for an instance without a VM or with no such name (the operation refuses it)', () => {
    const world = deployed();
    const r = recordOf(world, 'api/0');
    r.state = 'detached';
    world.observed.servers = world.observed.servers.filter((s) => s.tags[TAG.instance] !== r.id);
    expect(
      powerSteps(plan(world, m, cc, { power: { kind: 'action', instance: 'api/0', action: 'start' } })),
    ).toEqual([]);
    expect(
      plan(deployed(), m, cc, { power: { kind: 'action', instance: 'api/7', action: 'start' } }).steps,
    ).toEqual([]);
  });

  it('on an instance the plan replaces, acts on the new VM after its associate', () => {
    const world = deployed();
    const r = recordOf(world, 'api/0');
    const o = plan(world, m, cc, {
      recreate: ['api/0'],
      power: { kind: 'action', instance: 'api/0', action: 'reboot' },
    });
    const unit = o.steps.filter((s) => s.unit === `api/${r.id}`);
    const reboot = unit.find((s): s is PowerStep => s.kind === 'reboot');
    const create = unit.find((s) => s.kind === 'create-vm');
    const associate = unit.find((s) => s.kind === 'associate-vm-to-instance');
    expect(reboot).toMatchObject({
      serverId: null,
      createStep: create?.id,
      dependsOn: [associate?.id],
      group: 'api',
    });
    expect(instanceOf(o, 'api/0')?.reasons).toEqual([
      '--recreate',
      'reboot: requested by instance-action api/0',
    ]);
    const after = enact(world.observed, o);
    expect(after.observed.servers.filter((s) => s.tags[TAG.instance] === r.id).map((s) => s.power)).toEqual([
      'running',
    ]);
  });
});
