// Update policy: resolved per group so the enactor schedules from numbers, not from the manifest.
import { describe, expect, it } from 'vitest';
import { failureBudget, patent, resolveMaxInFlight } from '../../../src/planner/index';
import { cloudWith, group, manifestWith } from './baseline';

describe('max_in_flight: a count, or a percentage of the group rounded down, at least 1', () => {
  it.each([
    ['25% of 10 is 2 (2.5 rounds down)', '25%', 10, 2],
    ['50% of 3 is 1 (1.5 rounds down)', '50%', 3, 1],
    ['10% of 5 is raised to 1 so the update can progress', '10%', 5, 1],
    ['100% of 7 is 7', '100%', 7, 7],
    ['50% of an empty group is still 1', '50%', 0, 1],
    ['a count is taken as written, even above the group size', 3, 2, 3],
  ] as const)('%s', (_, value, instances, expected) => {
    expect(resolveMaxInFlight(value, instances)).toBe(expected);
  });
});

describe('group policies', () => {
  it('take the deployment update block, then each group override', () => {
    const m = manifestWith((x) => {
      x.update = { canaries: 2, max_in_flight: '50%', vm_strategy: 'hot_swap', serial: true };
      group(x, 'worker').update = {
        canaries: 0,
        max_in_flight: 5,
        vm_strategy: 'delete_create',
        serial: false,
      };
      group(x, 'db').migrated_from = [{ name: 'postgres' }];
    });
    expect(patent(m, cloudWith()).groups).toEqual([
      {
        name: 'api',
        instances: 3,
        strategy: 'hot_swap',
        strategyExplicit: true,
        canaries: 2,
        maxInFlight: 1,
        serial: true,
        migratedFrom: [],
      },
      {
        name: 'worker',
        instances: 2,
        strategy: 'delete_create',
        strategyExplicit: true,
        canaries: 0,
        maxInFlight: 5,
        serial: false,
        migratedFrom: [],
      },
      {
        name: 'db',
        instances: 1,
        strategy: 'hot_swap',
        strategyExplicit: true,
        canaries: 2,
        maxInFlight: 1,
        serial: true,
        migratedFrom: ['postgres'],
      },
    ]);
  });

  it('fall back to the default strategy when nobody chose one, and say so', () => {
    const m = manifestWith((x) => (x.update = { canaries: 1, max_in_flight: 1 }));
    expect(patent(m, cloudWith()).groups.map((g) => [g.strategy, g.strategyExplicit])).toEqual([
      ['delete_create', false],
      ['delete_create', false],
      ['delete_create', false],
    ]);
    expect(patent(m, cloudWith(), [], { defaultStrategy: 'hot_swap' }).groups[0]?.strategy).toBe('hot_swap');
  });
});

describe('the failure budget: update.max_failed_builds and update.conflict_timeout_minutes', () => {
  it('defaults to 3 failed builds and 10 minutes of conflicts', () => {
    expect(failureBudget(manifestWith().update)).toEqual({ failedBuilds: 3, conflictMs: 600_000 });
  });

  it('takes what the manifest says, minutes as milliseconds', () => {
    const m = manifestWith((x) => {
      x.update = { ...x.update, max_failed_builds: 1, conflict_timeout_minutes: 0.5 };
    });
    expect(failureBudget(m.update)).toEqual({ failedBuilds: 1, conflictMs: 30_000 });
  });
});
