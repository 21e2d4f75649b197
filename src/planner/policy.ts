// Update policy per group: the deployment's `update` block with the group's overrides applied, and
// max_in_flight resolved to a count. Scheduling (canaries, max_in_flight, serial) is the enactor's
// job; the planner only resolves the numbers so every consumer reads the same ones.
import { DEFAULT_FAILURE_BUDGET, type FailureBudget } from '../domain/activities';
import type { Manifest, VmStrategy } from '../domain/manifest';
import type { GroupPolicy } from './types';

/**
 * max_in_flight as a count of concurrent instance updates. A count is taken as written (min 1);
 * a percentage is of the group's instance count, rounded DOWN (never more in flight than asked for),
 * and then raised to 1 so that an update can always make progress. Worked examples:
 *   ("25%", 10 instances) → 2    floor(2.5)
 *   ("50%",  3 instances) → 1    floor(1.5)
 *   ("10%",  5 instances) → 1    floor(0.5) = 0, raised to the minimum of 1
 *   ("100%", 7 instances) → 7
 *   ("50%",  0 instances) → 1    nothing to update, but the count stays a valid bound
 *   (3,      2 instances) → 3    counts are not capped; more slots than instances is harmless
 */
export function resolveMaxInFlight(value: number | string, instances: number): number {
  if (typeof value === 'number') return Math.max(1, Math.floor(value));
  const percent = Number(value.replace(/%$/, ''));
  if (!Number.isFinite(percent)) return 1;
  return Math.max(1, Math.floor((instances * percent) / 100));
}

/** Groups in manifest order, which is also the order the enactor updates them in. */
export function groupPolicies(manifest: Manifest, defaultStrategy: VmStrategy): GroupPolicy[] {
  const base = manifest.update;
  return manifest.instance_groups.map((group) => {
    const own = group.update ?? {};
    const chosen = own.vm_strategy ?? base.vm_strategy;
    return {
      name: group.name,
      instances: group.instances,
      strategy: chosen ?? defaultStrategy,
      strategyExplicit: chosen !== undefined,
      canaries: own.canaries ?? base.canaries,
      maxInFlight: resolveMaxInFlight(own.max_in_flight ?? base.max_in_flight, group.instances),
      serial: own.serial ?? base.serial,
      migratedFrom: (group.migrated_from ?? []).map((m) => m.name),
    };
  });
}

/**
 * When a persistent failure ends a step: the deployment's `update.max_failed_builds` and
 * `update.conflict_timeout_minutes`, each defaulting to DEFAULT_FAILURE_BUDGET's.
 */
export function failureBudget(update: Manifest['update']): FailureBudget {
  return {
    failedBuilds: update.max_failed_builds ?? DEFAULT_FAILURE_BUDGET.failedBuilds,
    conflictMs:
      update.conflict_timeout_minutes === undefined
        ? DEFAULT_FAILURE_BUDGET.conflictMs
        : Math.round(update.conflict_timeout_minutes * 60_000),
  };
}
