// The benchmark's ideal time: the critical path of an obligation under its update policy.
import { describe, expect, it } from 'vitest';
import { embodiment, patent, placementsFor, reconcile } from '../../../src/planner';
import type { Obligation, StepKind } from '../../../src/planner/types';
import {
  criticalPathMs,
  stepDurations,
  type ScheduledObligation,
  type ScheduledStep,
} from '../../../scripts/bench/critical-path';
import { benchCloudConfig, benchManifest } from '../../../scripts/bench/inputs';
import { emptyObserved, enact } from '../../support/simulator';

const HOT_SWAP_LATENCIES = { build_ms: 2000, delete_ms: 1000, latency_ms: 0 };

/** A hot_swap unit as the planner shapes it: create → associate → delete old → release old quota. */
function hotSwapUnit(unit: string, group: string): ScheduledStep[] {
  const s = (kind: StepKind, dependsOn: string[]): ScheduledStep => ({
    id: `${unit}:${kind}`,
    kind,
    unit,
    group,
    dependsOn,
  });
  return [
    s('create-vm', []),
    s('associate-vm-to-instance', [`${unit}:create-vm`]),
    s('delete-server', [`${unit}:associate-vm-to-instance`]),
    s('release-quota', [`${unit}:delete-server`]),
  ];
}

function group(
  name: string,
  units: number,
  policy: { canaries: number; maxInFlight: number; serial: boolean },
) {
  const names = Array.from({ length: units }, (_, i) => `${name}/${i}`);
  return {
    steps: names.flatMap((u) => hotSwapUnit(u, name)),
    policy: { name, ...policy },
    instances: names.map((instance) => ({ instance })),
  };
}

function obligationOf(...groups: ReturnType<typeof group>[]): ScheduledObligation {
  return {
    steps: groups.flatMap((g) => g.steps),
    groups: groups.map((g) => g.policy),
    instances: groups.flatMap((g) => g.instances),
  };
}

const durations = stepDurations(HOT_SWAP_LATENCIES);

describe('criticalPathMs', () => {
  it('an empty obligation takes no time', () => {
    expect(criticalPathMs({ steps: [], groups: [], instances: [] }, durations)).toBe(0);
  });

  it('hot_swap: all creates at once, then the canary, then max_in_flight units at a time', () => {
    // 2 s build; canary delete 1 s; 9 units left, 4 at a time → 3 more deletes of 1 s.
    const o = obligationOf(group('api', 10, { canaries: 1, maxInFlight: 4, serial: true }));
    expect(criticalPathMs(o, durations)).toBe(2000 + 1000 + 3 * 1000);
  });

  it('a serial group waits for the one before it; a non-serial group runs beside it', () => {
    const a = group('a', 5, { canaries: 1, maxInFlight: 2, serial: true });
    const serial = group('b', 5, { canaries: 1, maxInFlight: 2, serial: true });
    const parallel = group('b', 5, { canaries: 1, maxInFlight: 2, serial: false });
    const one = 1000 + 2 * 1000; // canary, then 4 units 2 at a time
    expect(criticalPathMs(obligationOf(a, serial), durations)).toBe(2000 + 2 * one);
    expect(criticalPathMs(obligationOf(a, parallel), durations)).toBe(2000 + one);
  });

  it('no canaries: max_in_flight units from the start', () => {
    const o = obligationOf(group('api', 6, { canaries: 0, maxInFlight: 3, serial: true }));
    expect(criticalPathMs(o, durations)).toBe(2000 + 2 * 1000);
  });

  it('cleanup units (no group) run at once, beside everything else', () => {
    const o = obligationOf(group('api', 2, { canaries: 1, maxInFlight: 1, serial: true }));
    const orphan: ScheduledStep[] = [
      { id: 'orphan/s-9:delete-server', kind: 'delete-server', unit: 'orphan/s-9', group: '', dependsOn: [] },
      {
        id: 'orphan/s-9:release-quota',
        kind: 'release-quota',
        unit: 'orphan/s-9',
        group: '',
        dependsOn: ['orphan/s-9:delete-server'],
      },
    ];
    expect(criticalPathMs({ ...o, steps: [...o.steps, ...orphan] }, durations)).toBe(2000 + 2 * 1000);
  });

  it('request latency adds one per request a step cannot do without', () => {
    const d = stepDurations({ build_ms: 100, delete_ms: 50, latency_ms: 10 });
    expect(d['create-vm']).toBe(130);
    expect(d['delete-server']).toBe(70);
    const o = obligationOf(group('api', 1, { canaries: 1, maxInFlight: 1, serial: true }));
    // create 130 + associate 40 + delete 70 + release 30
    expect(criticalPathMs(o, d)).toBe(270);
  });

  it('refuses a step whose group has no policy: it would never start', () => {
    const o = obligationOf(group('api', 2, { canaries: 1, maxInFlight: 1, serial: true }));
    expect(() => criticalPathMs({ ...o, groups: [] }, durations)).toThrow(/never starts/);
  });

  describe('on the planner’s own obligations (the bench deployment)', () => {
    const deployed = (instances: number): { o: Obligation; world: ReturnType<typeof enact> } => {
      const m = benchManifest('cp', instances);
      const o = reconcile(
        patent(m, benchCloudConfig, [], { defaultStrategy: 'hot_swap' }),
        embodiment('cp', emptyObserved(), []),
        { defaultStrategy: 'hot_swap', operationSeq: 1, operationId: 'op-1' },
      );
      return { o, world: enact(emptyObserved(), o) };
    };

    it('fresh deploy: one build, whatever the size', () => {
      const { o } = deployed(40);
      expect(criticalPathMs(o, durations)).toBe(2000);
    });

    it('hot_swap of 200 in ten parallel groups of 20 at 10%: build, canary, then ten waves of two', () => {
      const { world } = deployed(200);
      const next = benchManifest('cp', 200, '1.182');
      const o = reconcile(
        patent(next, benchCloudConfig, placementsFor(next, world.records), { defaultStrategy: 'hot_swap' }),
        embodiment('cp', world.observed, world.records),
        { defaultStrategy: 'hot_swap', operationSeq: 2, operationId: 'op-2' },
      );
      expect(o.instances.every((i) => i.action === 'replace')).toBe(true);
      // per group: 20 units, canary 1, max_in_flight 2 → 1 + ceil(19 / 2) = 11 deletes of 1 s
      expect(criticalPathMs(o, durations)).toBe(2000 + 11 * 1000);
    });
  });
});
